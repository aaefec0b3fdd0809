"""``python -m app.review_hook [--base REF] [ARGS…]``: ``costpilot review`` as a pre-commit /
pre-push hook, run from the root of the GitOps checkout.

Defaults fit a developer's clone: the checkout is the current folder (local forge), the base is
``origin/main``, the head ``HEAD``, and the workspace a folder under the user's cache — never
the repository's own ``.costpilot/`` (that is where its policies live). Settings already in the
environment win.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    defaults = {
        "COSTPILOT_HOME": str(cache / "costpilot-hook"),
        "COSTPILOT_FORGE": "local",
        "COSTPILOT_GITOPS_REPO": str(Path.cwd()),
    }
    for name, value in defaults.items():
        if not os.environ.get(name):  # an empty variable counts as unset
            os.environ[name] = value
    Path(os.environ["COSTPILOT_HOME"]).mkdir(parents=True, exist_ok=True)
    if "--base" not in args:
        args = ["--base", "origin/main", *args]
    if "--head" not in args:
        args = ["--head", "HEAD", *args]
    return cli_main(["review", *args])


if __name__ == "__main__":
    raise SystemExit(main())

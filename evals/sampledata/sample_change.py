"""A person's change to the sample GitOps repo, on a branch of its own: what ``costpilot review``
is shown in the demo (and what a CI job would review on a pull request).

The change is the kind a team makes before a sale: more replicas and bigger requests for
``checkout-web``, and a feature routed to a dearer model. Written by exact text replacement (the
sample repo is generated, so each old text is known); a replacement that no longer matches is a
loud error, never a silent no-op. Same repo, same date → same commit.
"""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

from domain.errors import InputError
from evals.sampledata.generate import git_command, git_env

SAMPLE_CHANGE_BRANCH = "team-checkout/holiday-sale-capacity"
SAMPLE_CHANGE_TITLE = "checkout: capacity for the holiday sale"

# (file, old text, new text): each old text occurs exactly once in its file.
_EDITS: tuple[tuple[str, str, str], ...] = (
    (
        "base/checkout/checkout-web.yaml",
        "spec:\n  replicas: 1\n",
        "spec:\n  replicas: 4  # holiday sale\n",
    ),
    (
        "base/checkout/checkout-web.yaml",
        "          resources:\n            requests:\n              cpu: 500m\n              memory: 512Mi\n",
        "          resources:\n            requests:\n              cpu: '1'\n              memory: 1Gi\n",
    ),
    (
        "ai/routing.yaml",
        "  email-personalization: {model: gpt-4o-mini,",
        "  email-personalization: {model: gpt-4o,",
    ),
)


def write_sample_change(repo: Path, when: date) -> str:
    """Commit the sample change on ``SAMPLE_CHANGE_BRANCH`` (from ``main``); returns the branch.
    An existing branch of that name is replaced (the demo may run again)."""
    env = git_env(when)

    def git(*args: str) -> str:
        done = subprocess.run([*git_command(), *args], cwd=repo, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise InputError(f"{repo}: git {' '.join(args)} failed: {done.stderr.strip()[:200]}")
        return done.stdout

    current = git("rev-parse", "--abbrev-ref", "HEAD").strip()
    git("checkout", "-q", "-B", SAMPLE_CHANGE_BRANCH, "main")
    try:
        for rel, old, new in _EDITS:
            path = repo / rel
            text = path.read_text(encoding="utf-8")
            if text.count(old) != 1:
                raise InputError(f"{path}: the sample change expects one {old.strip()!r}; the repo differs")
            path.write_text(text.replace(old, new), encoding="utf-8")
        git("commit", "-q", "-a", "-m", SAMPLE_CHANGE_TITLE)
    finally:
        git("checkout", "-q", "-f", current)
    return SAMPLE_CHANGE_BRANCH

"""The AI routing config of the GitOps repository (``ai/routing.yaml``): the ``models``
allow-list and each LLM ``feature``'s model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domain.errors import ConfigError, InputError
from gitops.yaml_load import load_documents

ROUTING_FILE = "ai/routing.yaml"


def routing_config(doc: Any, source: str) -> dict[str, Any]:
    """``doc`` checked to be a routing config; ConfigError naming ``source`` otherwise."""
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("models"), dict)
        or not isinstance(doc.get("features"), dict)
    ):
        raise ConfigError(f"{source}: needs mappings `models:` and `features:`")
    return doc


def read_routing(path: Path) -> dict[str, Any]:
    """The routing config in the file ``path`` (``--routing FILE``, or the checkout's own
    ``ai/routing.yaml``), read with the same YAML guards as the rest of the repository."""
    if not path.is_file():
        raise ConfigError(f"{path}: no AI routing config (expected models: and features:)")
    try:
        docs = load_documents(path.read_text(encoding="utf-8"), str(path))
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    return routing_config(docs[0] if docs else None, str(path))

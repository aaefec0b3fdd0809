"""Reading a GitOps checkout's YAML files, treating the repository as untrusted input.

Every file is read at most once, through the guards of ``gitops.yaml_load``. A file that cannot
be read safely — a symlink leading outside the repository, a FIFO or device, a path holding a
control character, too large, nested too deep, anchors, not UTF-8 or not YAML — is skipped with
a note naming it, and the walk goes on; nothing outside the repository is opened.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.errors import InputError
from gitops.yaml_load import MAX_BYTES, PatchError, has_control_chars, load_documents, resolve_in_repo

YAML_SUFFIXES = (".yaml", ".yml")
# Folders that hold no deployable manifests: git's own, costpilot's policy (read on its own),
# and templates (a chart's templates are Go templates, rendered from the values instead).
SKIP_DIRS = frozenset({".git", ".costpilot", "node_modules", "templates"})


@dataclass
class RepoFiles:
    """The parsed YAML files of a checkout (path relative to the root → text, documents)."""

    root: Path
    files: dict[str, tuple[str, list[Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def read_repo_file(root: Path, relative: str) -> str:
    """The UTF-8 text of ``relative`` inside ``root``; InputError (naming it) when the path
    escapes the repository, is not a regular file, is larger than MAX_BYTES or not UTF-8."""
    target = resolve_in_repo(root, relative)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(target, flags)  # O_NOFOLLOW: a symlink swapped in after the check is refused
    except OSError as exc:
        raise PatchError(f"{relative}: cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PatchError(f"{relative}: not a regular file; refused")
        if info.st_size > MAX_BYTES:
            raise PatchError(f"{relative}: larger than {MAX_BYTES} bytes; refused")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise PatchError(f"{relative}: larger than {MAX_BYTES} bytes; refused")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PatchError(f"{relative}: not UTF-8 text; refused") from None


def _walk(root: Path, notes: list[str]) -> list[str]:
    """Relative paths of the YAML files under ``root``, sorted; symlinked folders are not
    entered (a link leading outside is noted), odd names are noted and skipped."""
    found: list[str] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        here = Path(folder)
        rel_dir = here.relative_to(root)
        for d in sorted(dirs):
            path = here / d
            if d in SKIP_DIRS:
                dirs.remove(d)
            elif path.is_symlink() and not path.resolve().is_relative_to(root):
                notes.append(f"{_shown(rel_dir / d)}: symlinked folder leads outside the repository; skipped")
        for name in names:
            if not name.endswith(YAML_SUFFIXES):
                continue
            rel = (rel_dir / name).as_posix()
            if has_control_chars(rel):
                notes.append(f"{_shown(rel_dir / name)}: control character in the file name; skipped")
                continue
            found.append(rel)
    return sorted(found)


def _shown(path: Path | str) -> str:
    text = Path(path).as_posix()
    return repr(text) if has_control_chars(text) else text


def read_repo(root: Path) -> RepoFiles:
    """Parse every YAML file of the checkout once; unreadable or unsafe ones become notes."""
    root = root.resolve()
    out = RepoFiles(root)
    if not root.is_dir():
        return out
    for rel in _walk(root, out.notes):
        try:
            text = read_repo_file(root, rel)
            out.files[rel] = (text, load_documents(text, rel))
        except PatchError as exc:  # the message names the file
            out.notes.append(f"{exc} (file skipped)")
        except InputError as exc:  # pragma: no cover - every read error above is a PatchError
            out.notes.append(f"{rel}: {exc} (file skipped)")
    return out

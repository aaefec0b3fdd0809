"""The GitOps checkout at a git ref: resolve the ref, list its files, and write its tree into a
folder, so the repository model reads a base and a head exactly as they are committed.

Read-only on the checkout (``rev-parse``, ``ls-tree``, ``cat-file``): no worktree, index or
ref is touched. Only regular files are written out; symlinks and submodules are skipped with a
note, and so is a blob larger than the YAML reader would accept.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from domain.errors import InputError
from gitops.yaml_load import MAX_BYTES, has_control_chars

_REGULAR = ("100644", "100755")


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    blob: str


@dataclass
class TreeAt:
    """A commit's files: path → entry, and what was left out."""

    commit: str
    entries: dict[str, TreeEntry]
    notes: list[str] = field(default_factory=list)


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, env=env, check=False, timeout=120
    )
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, args, proc.stdout, proc.stderr)
    return proc.stdout


def resolve_commit(repo: Path, ref: str, option: str = "ref") -> str:
    """The commit ``ref`` names in the checkout at ``repo``; InputError naming ``option``."""
    if not ref or ref.startswith("-") or has_control_chars(ref) or any(c.isspace() for c in ref):
        raise InputError(f"{option} {ref!r}: not a git ref")
    try:
        out = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    except subprocess.CalledProcessError:
        raise InputError(f"{option} {ref!r}: not a commit of the GitOps checkout {repo}") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"{option} {ref!r}: git failed in {repo}: {exc}") from None
    return out.decode().strip()


def tree_at(repo: Path, commit: str) -> TreeAt:
    """Every file of ``commit`` (recursively) with its mode and blob id."""
    raw = _git(repo, "ls-tree", "-r", "-z", "--full-tree", commit)
    tree = TreeAt(commit, {})
    for item in raw.split(b"\0"):
        if not item:
            continue
        meta, _, path_bytes = item.partition(b"\t")
        mode, kind, blob = meta.decode().split()
        path = path_bytes.decode("utf-8", "replace")
        if kind != "blob" or mode not in _REGULAR:
            tree.notes.append(
                f"{path!r}: {'symlink' if mode == '120000' else kind} at {commit[:12]}; skipped"
            )
            continue
        if has_control_chars(path) or path.startswith("/") or ".." in path.split("/"):
            tree.notes.append(f"{path!r}: unusable path at {commit[:12]}; skipped")
            continue
        tree.entries[path] = TreeEntry(mode, blob)
    return tree


def read_blobs(repo: Path, blobs: list[str]) -> dict[str, bytes]:
    """Contents of ``blobs`` (one ``cat-file --batch`` call); an oversized blob maps to b""."""
    if not blobs:
        return {}
    out = _git(repo, "cat-file", "--batch", stdin="".join(f"{b}\n" for b in blobs).encode())
    found: dict[str, bytes] = {}
    pos = 0
    for _ in blobs:
        end = out.index(b"\n", pos)
        sha, _kind, size = out[pos:end].decode().split()
        start = end + 1
        found[sha] = out[start : start + int(size)]
        pos = start + int(size) + 1
    return found


def export_tree(repo: Path, tree: TreeAt, dest: Path) -> None:
    """Write ``tree``'s regular files under ``dest`` (a fresh folder)."""
    sizes = {e.blob for e in tree.entries.values()}
    contents = read_blobs(repo, sorted(sizes))
    for path, entry in sorted(tree.entries.items()):
        data = contents[entry.blob]
        if len(data) > MAX_BYTES:
            tree.notes.append(f"{path}: larger than {MAX_BYTES} bytes at {tree.commit[:12]}; skipped")
            continue
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def changed_paths(base: TreeAt, head: TreeAt) -> list[str]:
    """Paths added, removed or whose content differs between two trees, sorted."""
    paths = set(base.entries) | set(head.entries)
    return sorted(p for p in paths if base.entries.get(p) != head.entries.get(p))

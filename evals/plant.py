"""Plant prompt injections in the eval's COPY of the raw files and the GitOps repository.

The generator's output is never touched: the eval copies it, then each ``Plant`` (a YAML entry)
rewrites matching records of one copied file — a FOCUS tag value or resource name, a field of
an LLM log's metadata, an annotation of a manifest, a file of the repository, the commit message.
FOCUS CSV lines are edited field by field and keep their quoting (quoted strings, empty unquoted
nulls), so the copy differs from the original only where the injection sits.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from pathlib import Path

from domain.errors import InputError
from evals.casefile import Plant

Field = tuple[str, bool]  # (value, was quoted)
Planter = Callable[[Plant, Path], int]


def split_csv_line(line: str) -> list[Field]:
    """One CSV record (no embedded newlines) as (value, quoted) fields."""
    fields: list[Field] = []
    i, n = 0, len(line)
    while True:
        if i < n and line[i] == '"':
            j, chunks = i + 1, []
            while True:
                k = line.index('"', j)
                chunks.append(line[j:k])
                if k + 1 < n and line[k + 1] == '"':
                    chunks.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            fields.append(("".join(chunks), True))
        else:
            k = line.find(",", i)
            k = n if k < 0 else k
            fields.append((line[i:k], False))
            i = k
        if i >= n:
            return fields
        i += 1  # the comma
        if i == n:
            fields.append(("", False))
            return fields


def join_csv_line(fields: list[Field]) -> str:
    return ",".join('"' + v.replace('"', '""') + '"' if quoted else v for v, quoted in fields)


def _read_text(path: Path) -> str:
    if path.suffix == ".gz":
        return gzip.decompress(path.read_bytes()).decode("utf-8")
    return path.read_text(encoding="utf-8")


def _write_text(path: Path, text: str) -> None:
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    else:
        path.write_text(text, encoding="utf-8")


def _edit_focus_csv(plant: Plant, root: Path, edit: Callable[[dict[str, int], list[Field]], None]) -> int:
    path = root / plant.file
    if not path.name.endswith((".csv", ".csv.gz")):
        raise InputError(f"plant {plant.id}: {plant.file} is not a FOCUS CSV (.csv / .csv.gz)")
    lines = _read_text(path).split("\n")
    header = {name.lower(): i for i, (name, _) in enumerate(split_csv_line(lines[0]))}
    changed = 0
    for number in range(1, len(lines)):
        line = lines[number]
        if not line or plant.match not in line or (plant.limit and changed >= plant.limit):
            continue
        fields = split_csv_line(line)
        edit(header, fields)
        lines[number] = join_csv_line(fields)
        changed += 1
    _write_text(path, "\n".join(lines))
    return changed


def plant_focus_tag(plant: Plant, root: Path) -> int:
    """Set tag ``key`` of the matching rows' Tags JSON to the text."""

    def edit(header: dict[str, int], fields: list[Field]) -> None:
        i = header["tags"]
        tags = json.loads(fields[i][0]) if fields[i][0] else {}
        tags[plant.key] = plant.text
        fields[i] = (json.dumps(tags), True)

    return _edit_focus_csv(plant, root, edit)


def plant_focus_resource(plant: Plant, root: Path) -> int:
    """The matching rows' ResourceName and ResourceId become the text."""

    def edit(header: dict[str, int], fields: list[Field]) -> None:
        for column in ("resourcename", "resourceid"):
            fields[header[column]] = (plant.text, True)

    return _edit_focus_csv(plant, root, edit)


def plant_llm_metadata(plant: Plant, root: Path) -> int:
    """Set ``metadata[key]`` of matching JSONL records (``feature``/``env``/``team`` also in
    ``request_tags``; ``end_user`` is a top-level field)."""
    path = root / plant.file
    if path.suffix != ".jsonl":
        raise InputError(f"plant {plant.id}: {plant.file} is not a JSONL gateway log")
    out, changed = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and plant.match in line and not (plant.limit and changed >= plant.limit):
            record = json.loads(line)
            if plant.key == "end_user":
                record["end_user"] = plant.text
            else:
                record.setdefault("metadata", {})[plant.key] = plant.text
                tags = [t for t in record.get("request_tags") or [] if not str(t).startswith(f"{plant.key}:")]
                record["request_tags"] = [*tags, f"{plant.key}:{plant.text}"]
            line = json.dumps(record)
            changed += 1
        out.append(line)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return changed


_METADATA = re.compile(r"^metadata:\s*$", re.MULTILINE)
_ANNOTATIONS = re.compile(r"^  annotations:\s*$", re.MULTILINE)


def plant_manifest_annotation(plant: Plant, root: Path) -> int:
    """Add annotation ``key: text`` to the first document's metadata (a JSON string is a valid
    YAML double-quoted scalar, so any text stays one value)."""
    path = root / plant.file
    text = path.read_text(encoding="utf-8")
    entry = f"    {plant.key}: {json.dumps(plant.text)}\n"
    metadata = _METADATA.search(text)
    if metadata is None:
        raise InputError(f"plant {plant.id}: {plant.file} has no top-level metadata")
    annotations = _ANNOTATIONS.search(text, metadata.end())
    next_doc = text.find("\n---", metadata.end())
    if annotations is not None and (next_doc < 0 or annotations.start() < next_doc):
        at = annotations.end() + 1
        path.write_text(text[:at] + entry + text[at:], encoding="utf-8")
    else:
        at = metadata.end() + 1
        path.write_text(text[:at] + "  annotations:\n" + entry + text[at:], encoding="utf-8")
    return 1


def plant_repo_file(plant: Plant, root: Path) -> int:
    """Append the text to a repository file (created when missing: a PR template, CODEOWNERS)."""
    path = root / plant.file
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(
        before + ("\n" if before and not before.endswith("\n") else "") + plant.text + "\n", encoding="utf-8"
    )
    return 1


def plant_commit_message(plant: Plant, root: Path) -> int:
    """Nothing to write: the workspace commits the planted files with this text as the message."""
    return 1


PLANTERS: dict[str, Planter] = {
    "focus_tag": plant_focus_tag,
    "focus_resource": plant_focus_resource,
    "llm_metadata": plant_llm_metadata,
    "manifest_annotation": plant_manifest_annotation,
    "repo_file": plant_repo_file,
    "commit_message": plant_commit_message,
}
# Which copy a plant's ``file`` is relative to.
IN_REPO = frozenset({"manifest_annotation", "repo_file", "commit_message"})


def apply_plant(plant: Plant, raw_root: Path, repo_root: Path) -> int:
    """Plant one injection; the number of records changed (0 is an error: the plant missed)."""
    root = repo_root if plant.kind in IN_REPO else raw_root
    if plant.kind != "commit_message" and not (root / plant.file).exists() and plant.kind != "repo_file":
        raise InputError(f"plant {plant.id}: {plant.file} not found under {root}")
    changed = PLANTERS[plant.kind](plant, root)
    if changed == 0:
        raise InputError(f"plant {plant.id}: no record of {plant.file} contains {plant.match!r}")
    return changed

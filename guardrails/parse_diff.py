"""Parse a change's files before and after, and list the fields that really changed."""

from __future__ import annotations

from domain.changes import PlannedChange
from domain.errors import InputError
from gitops.diff import changed_fields, identity
from gitops.yaml_patch import UnsafeYamlError, load_documents, resolve_in_repo
from gitops.yaml_path import split_selector
from guardrails.context import ValidationContext
from guardrails.fact_types import FileFacts, Leaf


def parse_file(ctx: ValidationContext, path: str, before: str, after: str) -> FileFacts:
    """Both texts of one file parsed (the repository's own text is parsed once, when the model
    loads); a path outside the repository, unsafe or broken YAML is recorded, not raised."""
    ff = FileFacts(path)
    try:
        resolve_in_repo(ctx.repo, path)
    except InputError as exc:
        ff.path_error = str(exc)
        return ff
    repo = ctx.repo_index()
    for attr, text in (("before", before), ("after", after)):
        known = repo.parsed(path, text)
        try:
            setattr(ff, attr, known if known is not None else load_documents(text, path))
        except UnsafeYamlError as exc:
            ff.unsafe = ff.unsafe or f"{attr}: {exc}"
        except InputError as exc:
            ff.parse_error = ff.parse_error or f"{attr}: {exc}"
    return ff


def parse_files(change: PlannedChange, ctx: ValidationContext) -> list[FileFacts]:
    files = [parse_file(ctx, f.path, f.before, f.after) for f in change.files]
    new_files = {f.path for f in change.files if f.before == ""}
    for ff in files:
        if ff.path in new_files and ff.after is not None and ff.before is not None:
            # A new file: everything but each document's identity is a change to judge.
            ff.before = [identity(d) for d in ff.after]
    return files


def changed_leaves(files: list[FileFacts]) -> list[Leaf]:
    """Every changed field of every parsed file, by comparing documents pairwise."""
    leaves: list[Leaf] = []
    for ff in files:
        if ff.before is None or ff.after is None:
            continue
        for doc in range(max(len(ff.before), len(ff.after))):
            pair = (
                [ff.before[doc]] if doc < len(ff.before) else [],
                [ff.after[doc]] if doc < len(ff.after) else [],
            )
            for text in changed_fields(*pair):
                selector, path = split_selector(text)
                leaves.append(Leaf(ff.path, doc, selector, path))
    return leaves

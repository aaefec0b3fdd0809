"""Offline Kubernetes schema validation.

The JSON schemas come from the ``kubernetes-validate`` package (it ships the schemas of every
Kubernetes minor release, generated from the OpenAPI spec; no network). We use its "strict"
variant (unknown fields are errors) and build one validator per kind/apiVersion, cached: the
package's own ``validate()`` re-reads 1.4 MB of definitions on every call.

Kustomize patch files are partial objects, so they are checked with ``required`` removed.
Resource quantities are additionally parsed (the schema admits any string there).
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

from domain.errors import InputError
from domain.quantity import parse_quantity

try:
    import kubernetes_validate

    _SCHEMAS: Path | None = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
except ImportError:  # pragma: no cover - the package is a dependency
    _SCHEMAS = None


def schema_versions() -> list[str]:
    if _SCHEMAS is None:
        return []
    found = [re.match(r"^v(\d+\.\d+)\.\d+-local-strict$", p.name) for p in _SCHEMAS.iterdir()]
    return sorted({m.group(1) for m in found if m}, key=lambda v: tuple(int(x) for x in v.split(".")))


def schema_dir(version: str) -> Path | None:
    """The newest bundled schema release not newer than ``version`` (None: none is that old)."""
    try:
        wanted = tuple(int(x) for x in version.split("."))
    except ValueError:
        return None
    usable = [v for v in schema_versions() if tuple(int(x) for x in v.split(".")) <= wanted]
    if not usable or _SCHEMAS is None:
        return None
    return next(_SCHEMAS.glob(f"v{usable[-1]}.*-local-strict"))


@cache
def _validator(version: str, kind: str, api_version: str, partial: bool) -> jsonschema.Validator | None:
    folder = schema_dir(version)
    if folder is None:
        return None
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    file = folder / f"{kind.lower()}-{group}.json"
    if not file.is_file():
        return None
    schema = json.loads(file.read_text())
    definitions = _definitions(str(folder), partial)
    if partial:
        schema = _drop_required(copy.deepcopy(schema))
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


@cache
def _definitions(folder: str, partial: bool) -> dict[str, Any]:
    data = json.loads((Path(folder) / "_definitions.json").read_text())
    return _drop_required(data) if partial else data


def _drop_required(node: Any) -> Any:
    if isinstance(node, dict):
        node.pop("required", None)
        for value in node.values():
            _drop_required(value)
    elif isinstance(node, list):
        for value in node:
            _drop_required(value)
    return node


@cache
def _served(version: str) -> frozenset[tuple[str, str, str]]:
    """(group, version, kind) of every type the bundled schema of ``version`` defines."""
    folder = schema_dir(version)
    if folder is None:
        return frozenset()
    data = json.loads((folder / "_definitions.json").read_text())
    found = set()
    for definition in (data.get("$defs") or data.get("definitions") or {}).values():
        for gvk in (
            definition.get("x-kubernetes-group-version-kind", []) if isinstance(definition, dict) else []
        ):
            found.add((gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", "")))
    return frozenset(found)


def _builtin_group(version: str, group: str) -> bool:
    return any(g == group for g, _, _ in _served(version))


def has_schema(doc: Any, version: str) -> bool:
    return _lookup(doc, version, False) is not None


def _lookup(doc: Any, version: str, partial: bool) -> jsonschema.Validator | None:
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("kind"), str)
        or not isinstance(doc.get("apiVersion"), str)
    ):
        return None
    return _validator(version, doc["kind"], doc["apiVersion"], partial)


def validate_object(doc: Any, version: str, partial: bool = False) -> list[str]:
    """Schema and quantity errors of one Kubernetes object ("path: message"), [] when valid.

    A document without a bundled schema (a CRD, a Kustomization, a values file) gives []:
    callers check ``has_schema`` to report that it was not schema-checked. A document of a
    built-in API group with no schema (``apps/v1beta1``, a kind the group does not serve) is an
    error: the API server would refuse it. No schema at all for ``version`` raises InputError —
    a check that cannot run must fail closed, never report "0 documents valid".
    """
    if schema_dir(version) is None:
        known = schema_versions()
        raise InputError(
            f"no bundled Kubernetes schema for version {version}"
            + (f" (available: {known[0]}–{known[-1]})" if known else " (kubernetes-validate not installed)")
        )
    validator = _lookup(doc, version, partial)
    errors: list[str] = []
    if validator is None and isinstance(doc, dict):
        api, kind = doc.get("apiVersion"), doc.get("kind")
        if isinstance(api, str) and isinstance(kind, str):
            group, _, ver = api.rpartition("/")
            if _builtin_group(version, group) and (group, ver, kind) not in _served(version):
                errors.append(f"<root>: {api} {kind} is not served by Kubernetes {version}")
    if validator is not None:
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
            where = ".".join(str(p) for p in error.absolute_path) or "<root>"
            errors.append(f"{where}: {error.message[:200]}")
            if len(errors) >= 5:
                break
    errors.extend(quantity_errors(doc))
    return errors


def quantity_errors(doc: Any, path: str = "") -> list[str]:
    """Every ``resources.requests|limits.*`` value that is not a Kubernetes quantity."""
    out: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            here = f"{path}.{key}" if path else str(key)
            if key in ("requests", "limits") and path.endswith("resources") and isinstance(value, dict):
                for res, qty in value.items():
                    try:
                        parse_quantity(qty)
                    except InputError:
                        out.append(f"{here}.{res}: {qty!r} is not a Kubernetes quantity")
            else:
                out.extend(quantity_errors(value, here))
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            out.extend(quantity_errors(item, f"{path}[{i}]"))
    return out


COMMON_KINDS = (
    ("Deployment", "apps/v1"),
    ("StatefulSet", "apps/v1"),
    ("DaemonSet", "apps/v1"),
    ("HorizontalPodAutoscaler", "autoscaling/v2"),
    ("PodDisruptionBudget", "policy/v1"),
    ("Service", "v1"),
)


def warm_up(version: str) -> int:
    """Build the validators of the common kinds now (reading the schema definitions takes
    ~0.1 s once); returns how many are ready. A long-running process calls this at start."""
    ready = 0
    for kind, api_version in COMMON_KINDS:
        for partial in (False, True):
            ready += _validator(version, kind, api_version, partial) is not None
    return ready

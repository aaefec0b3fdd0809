"""A wheel (``pip install .``) carries every subpackage and data file and runs the demo from a
folder outside the checkout; costpilot's top-level import names are its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL = ["agent", "app", "domain", "evals", "gitops", "guardrails", "playbooks", "services", "store", "tools", "warehouse"]  # fmt: skip


def _top_level_names(dist: metadata.Distribution) -> set[str]:
    names: set[str] = set()
    text = dist.read_text("top_level.txt")
    if text:
        names.update(line.strip() for line in text.splitlines() if line.strip())
    for file in dist.files or []:
        parts = Path(str(file)).parts
        if len(parts) > 1 and not parts[0].endswith((".dist-info", ".data")) and parts[0] != "..":
            names.add(parts[0])
        elif len(parts) == 1 and parts[0].endswith(".py"):
            names.add(parts[0].removesuffix(".py"))
    return names


def test_every_top_level_import_name_belongs_to_costpilot_alone() -> None:
    clashes = {
        f"{dist.metadata['Name']} also installs {name!r}"
        for dist in metadata.distributions()
        if dist.metadata["Name"] != "costpilot"
        for name in _top_level_names(dist) & set(TOP_LEVEL)
    }
    assert sorted(clashes) == []
    assert sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name != "tests") == [
        n for n in TOP_LEVEL if (ROOT / n / "__init__.py").is_file()
    ]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the source: setuptools writes build/ and *.egg-info into the tree it
    # builds, and other test processes read the checkout meanwhile.
    source = tmp_path_factory.mktemp("source") / "costpilot"
    skip = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "demo-workspace", "__pycache__")
    shutil.copytree(ROOT, source, ignore=skip, symlinks=True)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return next(out.glob("costpilot-*.whl"))


def test_the_wheel_carries_every_subpackage_and_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for package_dir in ROOT.glob("*/**/__init__.py"):
        rel = package_dir.relative_to(ROOT)
        if rel.parts[0] in TOP_LEVEL:
            assert rel.as_posix() in names, f"{rel} missing from the wheel"
    for data in ("playbooks/rightsize-requests.yaml", "evals/sampledata/sample_policy.yaml",
                 "warehouse/data/model_prices.json", "warehouse/data/focus_1.2_columns.csv"):  # fmt: skip
        assert data in names, f"{data} missing from the wheel"
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)


@pytest.mark.slow
def test_a_wheel_install_runs_the_demo_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    """A fresh venv sees the dependencies (the project venv's site-packages, without its
    editable costpilot) and the wheel; the demo runs from a folder outside the checkout."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    # A plain path line adds the folder but does not run its .pth files: no editable finder.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSTPILOT_") and k != "PYTHONPATH"}
    where = subprocess.run(
        [str(python), "-c", "import app, services; print(app.__file__); print(services.__file__)"],
        cwd=outside, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert all(str(site) in line for line in where.stdout.splitlines()), where.stdout
    demo = subprocess.run(
        [str(venv / "bin" / "costpilot"), "--workspace", str(outside / "ws"), "demo"],
        cwd=outside, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "audit log intact" in demo.stdout
    # The demo tells where everything is; its workspace pins "today", so what it suggests works as typed.
    assert "10/10 The audit trail" in demo.stdout and "Try next:" in demo.stdout
    # The review step: a teammate's branch priced and checked, as CI would post it.
    assert "costpilot review: monthly cost +$12,584.69" in demo.stdout
    assert "→ `team-checkout/holiday-sale-capacity` (" in demo.stdout  # a code span, no escapes
    assert (outside / "ws" / "digest" / "digest.png").stat().st_size > 1000
    later = subprocess.run(
        [str(venv / "bin" / "costpilot"), "--workspace", str(outside / "ws"), "spend", "--period", "last-week", "--json"],
        cwd=outside, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert later.returncode == 0 and json.loads(later.stdout)["period"] == {
        "start": "2026-11-16",
        "end": "2026-11-22",
    }
    assert list((outside / "ws" / "sample" / "gitops-repo" / ".costpilot").glob("policy.yaml"))
    review = subprocess.run(
        [str(venv / "bin" / "costpilot"), "--workspace", str(outside / "ws"), "review", "--base", "main",
         "--head", "team-checkout/holiday-sale-capacity", "--json"],
        cwd=outside, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert review.returncode == 0, review.stderr
    assert json.loads(review.stdout)["monthly_delta"] == "12584.69"
    # "Try next" lines run as typed, from anywhere (here: a shell in another folder, venv not activated).
    suggested = next(
        line for line in demo.stdout.splitlines() if "spend --period last-week --by service" in line
    )
    typed = subprocess.run(
        ["bash", "-c", suggested.strip()], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert typed.returncode == 0, (suggested, typed.stderr)
    assert json.loads(typed.stdout)["period"]["end"] == "2026-11-22"

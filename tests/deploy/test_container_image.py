"""The Dockerfile, built and run for real (scripts/container_check.sh): rootful podman from
Debian, a python:3.11-slim stand-in made with debootstrap (no Docker Hub here), the image's own
HEALTHCHECK, its user, and what must not be in it. ~75 s with the base cached, ~2 min cold."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="rootful podman and debootstrap need root"),
]

CHECKS = (
    "PASS  build:",
    "PASS  run: costpilot --help as uid 10001",
    "PASS  serve:",
    "PASS  healthcheck:",
    "PASS  content: no compiler, no /src, no /dist, no pytest; git present",
)


def test_the_image_builds_runs_as_its_user_and_passes_its_healthcheck() -> None:
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "container_check.sh")],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for check in CHECKS:
        assert check in done.stdout, done.stdout
    assert "FAIL" not in done.stdout

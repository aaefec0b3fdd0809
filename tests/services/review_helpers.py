"""A git checkout of the sample GitOps repository (with its Rego policies) on ``main``, and
branches made from edits, for ``costpilot review`` tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "gitops-repo"
GPU = ".costpilot/policies/gpu-limits.rego"
RAI = ".costpilot/policies/responsible-ai.rego"
EMBEDDING_PATCH = "overlays/prod/ml-platform/patches/embedding-worker.yaml"

INFERENCE = """# llm-serving — owned by team ml-platform
apiVersion: apps/v1
kind: Deployment
metadata:
  name: llm-serving
  namespace: ml-platform-prod
  labels:
    app: ai-inference
spec:
  replicas: 2
  selector:
    matchLabels:
      app: ai-inference
  template:
    metadata:
      labels:
        app: ai-inference
    spec:
      containers:
        - name: model
          image: registry.acme.example/llm-serving:1.0.0
          resources:
            requests:
              cpu: "8"
              memory: 64Gi
            limits:
              cpu: "8"
              memory: 64Gi
              nvidia.com/gpu: 8
"""


def git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env
    ).stdout


def sample_checkout(path: Path) -> Path:
    """The sample repository (policies included) committed on ``main``."""
    shutil.copytree(SAMPLE, path)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def branch(
    repo: Path, name: str, edits: dict[str, Callable[[str], str] | str | None], base: str = "main"
) -> str:
    """Branch ``name`` from ``base`` with one commit of ``edits`` (None deletes the file);
    the checkout is left on ``main``."""
    git(repo, "checkout", "-q", "-b", name, base)
    for rel, edit in edits.items():
        path = repo / rel
        if edit is None:
            path.unlink()
            continue
        text = edit(path.read_text()) if callable(edit) else edit
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"change {name}")
    git(repo, "checkout", "-q", "main")
    return name


def llm_log(path: Path, feature: str, model: str, day: str, rows: int = 3) -> Path:
    """A LiteLLM spend log: ``rows`` requests of 100,000 prompt and 10,000 completion tokens."""
    lines = [
        json.dumps(
            {
                "request_id": f"r-{feature}-{i}",
                "startTime": f"{day}T10:0{i}:00Z",
                "endTime": f"{day}T10:0{i}:02Z",
                "model": model,
                "custom_llm_provider": "openai",
                "prompt_tokens": 100_000,
                "completion_tokens": 10_000,
                "total_tokens": 110_000,
                "spend": None,
                "team_id": "search",
                "metadata": {"feature": feature, "env": "prod"},
            }
        )
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path

"""A small GitOps repository's files for the forge tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

DEPLOYMENT = """\
# api deployment — requests tuned by hand in 2025
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1.4.2
          resources:
            requests:
              cpu: "2"
              memory: 4Gi
"""
PATCHED = DEPLOYMENT.replace('cpu: "2"', 'cpu: "500m"').replace("memory: 4Gi", "memory: 1Gi")
FILES = {"apps/api/deployment.yaml": DEPLOYMENT, "README.md": "# gitops\n"}


def git_out(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True).stdout

#!/usr/bin/env bash
# One command on a fresh clone: set up, then run the whole loop on bundled sample data, offline.
# The workspace is ./demo-workspace unless COSTPILOT_HOME or --workspace says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/costpilot --workspace "${COSTPILOT_HOME:-demo-workspace}" demo "$@"

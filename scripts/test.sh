#!/usr/bin/env bash
# One command on a fresh clone: set up, make sure the local services the tests use are there,
# then run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/test-services.sh
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# One command on a fresh clone: set up, make sure the local services the tests use are there,
# then run the whole test suite on two pytest-xdist workers (the tests of one file stay on one
# worker: tests/conftest.py groups them). Extra arguments go to pytest as given, one plain run.
#
# (Until 2026-12-01 the suite ran as six processes because a worker's memory grew without end, to
# 12 GB: regopy's allocator taking over libstdc++'s, fixed in guardrails/regopy_runtime.py. One run
# now peaks at ≈ 1.3 GB per worker.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/test-services.sh
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
exec .venv/bin/python -m pytest -p no:cacheprovider -n 2 --dist loadgroup tests

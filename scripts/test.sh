#!/usr/bin/env bash
# One command on a fresh clone: set up, make sure the local services the tests use are there,
# then run the whole test suite. Extra arguments go to pytest (one run, as given).
#
# Without arguments the suite runs as a few pytest processes, one after the other, each on two
# pytest-xdist workers: a worker's memory grows with the in-process CLI runs it hosts, and a fresh
# process per group keeps every worker small (one process for everything reached 12 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/test-services.sh
PYTEST=(.venv/bin/python -m pytest -p no:cacheprovider -n 2 --dist loadgroup)
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
GROUPS_OF_TESTS=(
  "tests/agent tests/domain tests/test_layers.py tests/test_packaging.py tests/test_canary_secrets.py"
  "tests/app/slack tests/deploy"
  "tests/app --ignore=tests/app/slack"
  "tests/evals tests/playbooks tests/guardrails"
  "tests/services tests/store tests/gitops"
  "tests/tools tests/warehouse"
)
status=0
for group in "${GROUPS_OF_TESTS[@]}"; do
  echo "== pytest $group" >&2
  # shellcheck disable=SC2086  # each group is a list of paths and options
  "${PYTEST[@]}" $group || status=1
done
exit "$status"

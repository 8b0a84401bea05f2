#!/usr/bin/env bash
# Sets up, starts the bundled deadlocked demo in the background, diagnoses it
# with `pyattach -p PID deadlock` (which threads wait for which locks, who holds
# them, the cycle), then stops the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Any CPython 3.8-3.13 works; prefer a build with debug info (pyenv's here).
python=${PYTHON:-}
if [ -z "$python" ] && command -v pyenv >/dev/null; then
  python=$(ls "$(pyenv root)"/versions/3.1[0-3]*/bin/python3.1[0-3] 2>/dev/null | sort -V | tail -n 1)
fi
python=${python:-$(command -v python3)}
ready=$(mktemp -u)
"$python" examples/deadlock.py "$ready" &
demo=$!
trap 'kill $demo 2>/dev/null; wait $demo 2>/dev/null; rm -f "$ready"' EXIT
for _ in $(seq 100); do [ -e "$ready" ] && break; sleep 0.1; done
echo "# $python examples/deadlock.py is PID $demo; pyattach -p $demo deadlock"
status=0
"${PYATTACH_BUILD_DIR:-build}/pyattach" -p "$demo" deadlock || status=$?
# 11: a deadlock was found, which is what the demo is for.
if [ "$status" -ne 11 ]; then
  echo "demo: expected pyattach to find the deadlock (exit 11), got exit $status" >&2
  exit 1
fi
echo "# the stacks behind it: pyattach -p PID --all-threads py-bt"

#!/usr/bin/env bash
# Sets up (dependencies, build) and runs every test: unit tests and live tests
# against real CPython processes. Pass ctest arguments to narrow it, e.g.
#   scripts/test.sh -L unit        # the fast tests alone
#   scripts/test.sh -L live        # live tests only
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build_dir=${PYATTACH_BUILD_DIR:-build}
cd "$build_dir"
ctest --output-on-failure "$@"

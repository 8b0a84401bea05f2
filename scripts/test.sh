#!/usr/bin/env bash
# Sets up (dependencies, build) and runs every test: unit tests and live tests
# against real CPython processes. Pass ctest arguments to narrow it, e.g.
#   scripts/test.sh -L unit        # the fast tests alone
#   scripts/test.sh -L live        # live tests only
# PYATTACH_SANITIZE=1 (what CI runs): builds build-asan/ with ASan + UBSan and
# the libFuzzer target instead, and runs the whole suite against that binary,
# fuzzer included (README "Sanitizers and fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${PYATTACH_SANITIZE:-0}" = 1 ]; then
  export PYATTACH_BUILD_DIR=${PYATTACH_BUILD_DIR:-build-asan}
  export PYATTACH_CMAKE_ARGS="${PYATTACH_CMAKE_ARGS:-} -DPYATTACH_ASAN=ON -DPYATTACH_UBSAN=ON -DPYATTACH_FUZZ=ON"
  # Any report fails the run, with a status no pyattach error uses (cli/exit_codes.h).
  export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:exitcode=86:detect_stack_use_after_return=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:exitcode=87}
fi
scripts/setup.sh
build_dir=${PYATTACH_BUILD_DIR:-build}
cd "$build_dir"
ctest --output-on-failure "$@"

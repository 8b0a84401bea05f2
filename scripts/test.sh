#!/usr/bin/env bash
# Sets up (dependencies, build) and runs every test, as CI does: unit tests,
# live tests against real CPython processes and the fuzzer, with pyattach and
# the tests built under ASan + UBSan in build-asan/ (README "Tests").
# Pass ctest arguments to narrow it, e.g.
#   scripts/test.sh -L unit        # the fast tests alone
#   scripts/test.sh -LE slow       # all but the slow ones
#   scripts/test.sh -L live        # live tests only
# PYATTACH_SANITIZE=0: the plain optimised build in build/ instead (quicker to
# build, no fuzzer); PYATTACH_BUILD_DIR overrides either directory.
# PYATTACH_BUILD_TARGETS="a b": build only those (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${PYATTACH_SANITIZE:-1}" = 1 ]; then
  export PYATTACH_BUILD_DIR=${PYATTACH_BUILD_DIR:-build-asan}
  # fuzz.model fuzzes for PYATTACH_FUZZ_SECONDS (60 by default), set on every run
  # so that a long scripts/fuzz.sh session does not stay in the CMake cache.
  export PYATTACH_CMAKE_ARGS="${PYATTACH_CMAKE_ARGS:-} -DPYATTACH_ASAN=ON -DPYATTACH_UBSAN=ON
    -DPYATTACH_FUZZ=ON -DPYATTACH_FUZZ_SECONDS=${PYATTACH_FUZZ_SECONDS:-60}"
  # Any report fails the run, with a status no pyattach error uses (cli/exit_codes.h).
  export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:exitcode=86:detect_stack_use_after_return=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:exitcode=87}
fi
scripts/setup.sh
build_dir=${PYATTACH_BUILD_DIR:-build}
cd "$build_dir"
ctest --output-on-failure "$@"

#!/usr/bin/env bash
# Builds the libFuzzer target (tests/fuzz: the CPython model and the value
# printer over mutated memory images, under ASan + UBSan) in build-fuzz/ and
# runs it: the checked-in corpus, then PYATTACH_FUZZ_SECONDS (default 60) of
# fuzzing. CI runs it after scripts/test.sh. A crash leaves the input as
# build-fuzz/tests/fuzz/crash-*: add it to tests/fuzz/corpus/ with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${PYATTACH_FUZZ_BUILD_DIR:-build-fuzz}
PYATTACH_BUILD_DIR=$build_dir PYATTACH_BUILD_TARGETS=pyattach_fuzz_model \
  PYATTACH_CMAKE_ARGS="-DPYATTACH_FUZZ=ON -DPYATTACH_FUZZ_SECONDS=${PYATTACH_FUZZ_SECONDS:-60}" \
  scripts/setup.sh
cd "$build_dir"
ctest --output-on-failure -L fuzz

#!/usr/bin/env bash
# Builds only the libFuzzer target (tests/fuzz: the CPython model and the value
# printer over mutated memory images, under ASan + UBSan) in scripts/test.sh's
# sanitized tree, build-asan/, and runs it: the checked-in corpus, then
# PYATTACH_FUZZ_SECONDS (default 60) of fuzzing. scripts/test.sh runs the same
# two tests with the rest of the suite. A crash leaves the input as
# build-asan/tests/fuzz/crash-*: add it to tests/fuzz/corpus/ with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
PYATTACH_SANITIZE=1 PYATTACH_BUILD_TARGETS=pyattach_fuzz_model exec scripts/test.sh -L fuzz

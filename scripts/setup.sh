#!/usr/bin/env bash
# Installs pyattach's build dependencies (Debian/Ubuntu packages) when missing,
# then configures and builds into build/ (or $PYATTACH_BUILD_DIR).
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config libunwind-dev libdwarf-dev libelf-dev
          libboost-program-options-dev libspdlog-dev libfmt-dev doctest-dev
          libedit-dev gdb strace python3 nlohmann-json3-dev python3-jsonschema)
# The fuzzer links clang's libFuzzer runtime (tests/fuzz/CMakeLists.txt).
[[ "${PYATTACH_CMAKE_ARGS:-}" == *PYATTACH_FUZZ=ON* ]] && packages+=(libclang-rt-14-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's stock python3.11 is stripped; python3.11-dbg brings its separate
# debug files, Debian's gdb extension and the --with-pydebug python3.11d, which
# tests/live/test_debian.py needs. Only where the distribution has it.
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
if installed python3.11 && ! installed python3.11-dbg; then
  echo "setup: installing python3.11-dbg" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  apt-cache show python3.11-dbg >/dev/null 2>&1 || "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3.11-dbg >/dev/null ||
    echo "setup: WARNING: python3.11-dbg could not be installed; test_debian.py will fail" >&2
fi

build_dir=${PYATTACH_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${PYATTACH_BUILD_TYPE:-RelWithDebInfo} \
  ${PYATTACH_CMAKE_ARGS:-} >/dev/null
# PYATTACH_BUILD_TARGETS="a b": build only those (scripts/fuzz.sh), else everything.
targets=()
for t in ${PYATTACH_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j"$(nproc)" "${targets[@]}" 2>&1 | grep -E "error|warning:|Error" || true
for t in ${PYATTACH_BUILD_TARGETS:-pyattach}; do
  test -n "$(find "$build_dir" -name "$t" -type f -perm -u+x -print -quit)" ||
    { echo "setup: build of $t failed" >&2; exit 1; }
done

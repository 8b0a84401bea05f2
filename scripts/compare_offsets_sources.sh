#!/bin/bash
# Attaches to a small target on every pyenv CPython 3.8-3.13 (and Debian's
# python3.11/python3.11d when present) and checks that --offsets-from table
# (and debug-offsets on 3.13) print exactly what the default (DWARF) prints on
# stdout; their warnings on stderr are shown.
# usage: scripts/compare_offsets_sources.sh [path/to/pyattach]
set -u
P=${1:-$(dirname "$0")/../build-offsets/pyattach}
TARGET=$(mktemp /tmp/pyattach-offsets-target.XXXXXX.py)
trap 'rm -f "$TARGET" /tmp/pyattach-offsets-err.$$' EXIT
cat > "$TARGET" <<'PY'
import threading, time, sys
ready = threading.Barrier(3)
def worker(n, payload):
    d = {"n": n, "payload": payload, "t": (1, 2.5, None)}
    ready.wait()
    time.sleep(1000)
def rec(n, acc):
    if n == 0:
        ready.wait()
        print("ready", flush=True)
        return sorted([3, 1, 2], key=lambda x: time.sleep(1000))
    return rec(n - 1, acc + [n])
for i in range(2):
    threading.Thread(target=worker, args=(i, "x" * i), name=f"w{i}").start()
rec(3, [])
PY
interpreters=()
for d in "$(pyenv root 2>/dev/null || echo ~/.pyenv)"/versions/3.{8,9,10,11,12,13}.*; do
  [ -d "$d" ] || continue
  v=$(basename "$d"); interpreters+=("$d/bin/python${v%.*}")
done
for exe in /usr/bin/python3.11 /usr/bin/python3.11d; do [ -x $exe ] && interpreters+=($exe); done
status=0
for py in "${interpreters[@]}"; do
  coproc TGT { exec "$py" "$TARGET"; }
  pid=$TGT_PID
  read -r -t 10 line <&"${TGT[0]}"
  modes=table
  case "$py" in *3.13*) modes="table debug-offsets";; esac
  for cmd in "--all-threads py-bt" "--all-threads py-bt-full" "--all-threads bt"; do
    ref=$("$P" -p $pid $cmd 2>/dev/null)
    for m in $modes; do
      out=$("$P" -p $pid --offsets-from $m $cmd 2>/tmp/pyattach-offsets-err.$$)
      if [ "$ref" == "$out" ]; then r=SAME; else r=DIFF; status=1; fi
      echo "$py --offsets-from $m $cmd: $r ($(wc -l <<<"$ref") lines)"
      [ $r = DIFF ] && diff <(echo "$ref") <(echo "$out") | head -10
      sed 's/^/    stderr: /' /tmp/pyattach-offsets-err.$$ | sort -u
    done
  done
  kill $pid; wait $pid 2>/dev/null
done
exit $status

# Shared helpers of the CLI test scripts (sourced). Needs $bin and $tmp set.
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect NAME CODE STDERR_REGEX -- ARGS...: exit code and stderr (one line) must match.
# Stdout and stderr are kept in $tmp/out and $tmp/err for further checks.
expect() {
  local name=$1 code=$2 pattern=$3
  shift 4
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  local lines
  lines=$(grep -c '' "$tmp/err")
  if [ "$got" -ne "$code" ]; then bad "$name: exit $got, expected $code ($(cat "$tmp/err"))"; return; fi
  if [ -n "$pattern" ]; then
    if [ "$lines" -ne 1 ]; then bad "$name: $lines lines on stderr, expected 1: $(cat "$tmp/err")"; return; fi
    if ! grep -Eq -- "$pattern" "$tmp/err"; then bad "$name: stderr '$(cat "$tmp/err")' !~ /$pattern/"; return; fi
  fi
  ok
}

# has NAME FILE REGEX: FILE has a line matching REGEX.
has() { grep -Eq -- "$3" "$2" && ok || bad "$1: no line /$3/ in: $(head -c 2000 "$2")"; }

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

# le32 N: N as 4 little-endian bytes (printf escapes).
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }

# float_wav FILE RATE ZEROS BAD VALUE: a mono 32-bit float WAV of ZEROS zero samples, then
# BAD samples whose 4 little-endian bytes are VALUE (printf escapes: '\x00\x00\xc0\x7f' is NaN).
float_wav() {
  local file=$1 rate=$2 zeros=$3 bad=$4 value=$5 data=$((($3 + $4) * 4))
  {
    printf "RIFF$(le32 $((36 + data)))WAVEfmt $(le32 16)\\x03\\x00\\x01\\x00$(le32 "$rate")$(le32 $((rate * 4)))\\x04\\x00\\x20\\x00data$(le32 $data)"
    head -c $((zeros * 4)) /dev/zero
    local i
    for ((i = 0; i < bad; i++)); do printf "$value"; done
  } >"$file"
}

# tiny_dataset INPUTS DIR: a genre folder of three genres, two clips each (symlinks to the
# bundled inputs; distinct stems, so six groups).
tiny_dataset() {
  local in=$1 ds=$2 g
  for g in blues classical metal; do mkdir -p "$ds/$g"; done
  ln -s "$in/blues.00000.flac" "$ds/blues/blues.00000.flac"
  ln -s "$in/synth_8k_mono.wav" "$ds/blues/blues.00099.wav"
  ln -s "$in/classical.00001.flac" "$ds/classical/classical.00001.flac"
  ln -s "$in/silence_3s.wav" "$ds/classical/classical.00099.wav"
  ln -s "$in/metal.00002.flac" "$ds/metal/metal.00002.flac"
  ln -s "$in/synth_44k_stereo.flac" "$ds/metal/metal.00099.flac"
}

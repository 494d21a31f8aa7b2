#!/usr/bin/env bash
# Fuzzes the helper's input paths with cargo-fuzz (libFuzzer) on the
# installed nightly toolchain: each target in fuzz/fuzz_targets/ runs for
# SECONDS (default 60) in one process, one target at a time, seeded from
# fuzz/regressions/<target>/ (kept crash inputs and seeds, never written to)
# and a growing corpus in the cache. Prints each target's time and result
# and the total; exits non-zero when a target crashes or cannot run.
#
#   bash scripts/fuzz.sh [--install-only] [SECONDS] [TARGET...]
#
# A crash leaves its input in the cache (the path is printed): fix it, then
# copy it to fuzz/regressions/<target>/<name>, where tests/fuzz_regressions.rs
# feeds it to the real binary on every `cargo test`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

CARGO_FUZZ_VERSION=0.13.2
cache="${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost"
tool_root="$cache/cargo-fuzz-$CARGO_FUZZ_VERSION"
cargo_fuzz="$tool_root/bin/cargo-fuzz"

install_only=0
seconds=60
targets=()
for a in "$@"; do
  case "$a" in
    --install-only) install_only=1 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]*) targets+=("$a") ;;
    *) seconds="$a" ;;
  esac
done

command -v cargo >/dev/null || { echo "fuzz.sh: cargo (rustup) is required" >&2; exit 1; }
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz.sh: the nightly toolchain is not installed (cargo-fuzz needs it for -Zsanitizer); install it with rustup" >&2
  exit 1
fi

if [[ -x "$cargo_fuzz" ]] && "$cargo_fuzz" --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
  echo "== cargo-fuzz $CARGO_FUZZ_VERSION: cached in $tool_root"
else
  echo "== cargo-fuzz $CARGO_FUZZ_VERSION: building into $tool_root (cargo install --locked)"
  t=$SECONDS
  cargo install --locked --quiet --root "$tool_root" "cargo-fuzz@$CARGO_FUZZ_VERSION"
  echo "   (built in $((SECONDS - t)) s)"
fi
((install_only)) && exit 0

# One run at a time: two would share the corpus and fight over 2 cores.
mkdir -p "$cache"
exec 9>"$cache/fuzz.lock"
if ! flock -n 9; then
  echo "fuzz.sh: another fuzz.sh is running (lock $cache/fuzz.lock)" >&2
  exit 1
fi

# The fuzz crate builds into the cache, so a second run only relinks what changed.
target_dir="$cache/fuzz-target"
export CARGO_TARGET_DIR="$target_dir"
export PATH="$tool_root/bin:$PATH"

if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)
fi
((${#targets[@]})) || { echo "fuzz.sh: no fuzz targets found in fuzz/" >&2; exit 1; }

echo "== building ${#targets[@]} target(s) (nightly, release with debug assertions and overflow checks, address sanitizer)"
t=$SECONDS
for target in "${targets[@]}"; do
  cargo +nightly fuzz build --fuzz-dir fuzz --target-dir "$target_dir" --debug-assertions "$target"
done
echo "   (built in $((SECONDS - t)) s)"

total=0
failed=0
summary=()
for target in "${targets[@]}"; do
  corpus="$cache/fuzz-corpus/$target"
  artifacts="$cache/fuzz-artifacts/$target"
  seeds="fuzz/regressions/$target"
  mkdir -p "$corpus" "$artifacts"
  dict=()
  [[ -f "fuzz/dicts/$target.dict" ]] && dict=("-dict=fuzz/dicts/$target.dict")
  log="$artifacts/last-run.log"
  echo "== $target: ${seconds} s (corpus $corpus, seeds $seeds, log $log)"
  before=$(find "$artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
  t=$SECONDS
  rc=0
  # The first corpus directory receives new inputs; the seeds are only read.
  # stdout of the targets (lint prints its report) goes to /dev/null; stdin is empty.
  cargo +nightly fuzz run --fuzz-dir fuzz --target-dir "$target_dir" --debug-assertions "$target" "$corpus" "$seeds" -- \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len=65536 -close_fd_mask=1 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "${dict[@]}" </dev/null >"$log" 2>&1 || rc=$?
  took=$((SECONDS - t))
  total=$((total + took))
  runs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  # libFuzzer's own account of the time spent fuzzing (the rest is start-up).
  fuzzed=$(grep -ao 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' | tail -1 || true)
  new=$(find "$artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
  if ((rc == 0)); then
    result="ok, no crash (${runs:-?} runs in ${fuzzed:-?} s of fuzzing)"
  else
    failed=$((failed + 1))
    result="FAILED (exit $rc, $((new - before)) new artifact(s) in $artifacts)"
    tail -n 40 "$log" >&2
  fi
  echo "   $target: ${took} s, $result"
  summary+=("$target: ${took} s, $result")
done

echo
echo "== fuzzing summary (cargo-fuzz $CARGO_FUZZ_VERSION, $(rustup run nightly rustc --version))"
printf '   %s\n' "${summary[@]}"
echo "   total: ${total} s over ${#targets[@]} target(s), ${failed} failed"
((failed == 0))

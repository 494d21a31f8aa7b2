#!/usr/bin/env bash
# Proves that the README's test command (scripts/test.sh) exits non-zero when a
# test fails: it runs the command with `cargo`, `apt-get` and `go` shimmed,
# where the shimmed `cargo test` reports a failing test. Runs after the real
# suite, so every install step finds its tools and caches in place. The shims
# leave marks, so a failure for another reason (a missing tool, an install
# step) is not mistaken for the proof.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shims="$(mktemp -d)"
trap 'rm -rf "$shims"' EXIT
cat >"$shims/cargo" <<SHIM
#!/usr/bin/env bash
if [[ "\${1:-}" == test ]]; then
  touch "$shims/cargo-test-ran"
  echo "running 1 test"
  echo "test shim::deliberately_failing ... FAILED"
  echo "test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s"
  exit 101
fi
exit 0
SHIM
printf '#!/usr/bin/env bash\ntouch "%s/apt-get-ran"\nexit 0\n' "$shims" >"$shims/apt-get"
# `go env`/`go version` answer truthfully (cache keys are computed from
# them); anything that would build or download does nothing.
real_go="$(PATH="$PATH:/usr/local/go/bin" command -v go || true)"
cat >"$shims/go" <<SHIM
#!/usr/bin/env bash
case "\${1:-}" in
  env|version) [[ -n "$real_go" ]] && exec "$real_go" "\$@" ;;
esac
touch "$shims/go-ran"
exit 0
SHIM
chmod +x "$shims"/*
rc=0
out="$(PATH="$shims:$PATH" bash "$root/scripts/test.sh" 2>&1)" || rc=$?
if [[ ! -e "$shims/cargo-test-ran" ]]; then
  printf '%s\n' "$out" | tail -20
  echo "FAIL: the test command never reached the (shimmed) cargo test (exit $rc)" >&2
  exit 1
fi
if ((rc == 0)); then
  printf '%s\n' "$out" | tail -20
  echo "FAIL: the test command exited 0 although a test failed" >&2
  exit 1
fi
if ! printf '%s\n' "$out" | grep -qx 'tests: 0 passed, 1 failed, [0-9]* skipped'; then
  printf '%s\n' "$out" | tail -20
  echo "FAIL: the closing line does not count the failed test" >&2
  exit 1
fi
echo "ok: with a failing test the test command exits $rc"

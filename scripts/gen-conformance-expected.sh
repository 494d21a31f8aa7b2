#!/usr/bin/env bash
# Writes the conformance suite's expected results with real Nix: for every
# declaration (tests/conformance/cases/*.nix and tests/conformance/examples.list)
#   tests/conformance/expected/<name>.json        the evaluated document, or
#   tests/conformance/expected/<name>.error.json  {"option", "rule"?, "message"}
# where `option` is the option Nix's error names (null if none) and `rule` the
# catalog rule of a literal-secret refusal. Also records the nixpkgs lib commit
# in tests/conformance/NIXPKGS_LIB_COMMIT.
#
# Needs nix-instantiate, jq, python3 and nixpkgs' lib on NIX_PATH, e.g.
#   NIX_PATH=nixpkgs=/path/to/nixpkgs.lib NIXPKGS_LIB_COMMIT=<rev> scripts/gen-conformance-expected.sh
# The commit is taken from NIXPKGS_LIB_COMMIT, else from git in the lib's
# checkout, else kept from the existing file.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
conf="$root/tests/conformance"
out="$conf/expected"
mkdir -p "$out"

lib_dir="$(nix-instantiate --eval --expr '<nixpkgs/lib>' 2>/dev/null || true)"
if [[ -z "$lib_dir" ]]; then
  echo "error: <nixpkgs/lib> is not on NIX_PATH" >&2
  exit 1
fi
commit="${NIXPKGS_LIB_COMMIT:-}"
if [[ -z "$commit" ]]; then
  commit="$(git -C "$lib_dir" rev-parse HEAD 2>/dev/null || true)"
fi
if [[ -z "$commit" && -s "$conf/NIXPKGS_LIB_COMMIT" ]]; then
  commit="$(cat "$conf/NIXPKGS_LIB_COMMIT")"
  echo "note: keeping the recorded nixpkgs lib commit $commit" >&2
fi
if [[ -z "$commit" ]]; then
  echo "error: cannot tell the nixpkgs lib commit; set NIXPKGS_LIB_COMMIT" >&2
  exit 1
fi
printf '%s\n' "$commit" >"$conf/NIXPKGS_LIB_COMMIT"

# The option (and rule) Nix's first error names. Kept in sync with
# option_named_by_nix() in tests/conformance.rs.
error_json() {
  local err="$1" text rule="" option="" message
  text="$(sed -n '/^error:/,$p' "$err" | tr '\n' ' ')"
  message="$(sed -n '/^error:/{s/^error: *//;p;q}' "$err" | sed "s|$root/||g")"
  local finding trap named
  finding="$(grep -oE '\[[a-z-]+\] services\.secureMattermost[^ ]*' <<<"$text" | head -n1 || true)"
  trap="$(grep -oE "secure-mattermost: \[[a-z-]+\] option \`[^']+'" <<<"$text" | head -n1 || true)"
  if [[ -n "$finding" ]]; then
    rule="$(sed -E 's/^\[([a-z-]+)\].*/\1/' <<<"$finding")"
    option="$(sed -E 's/^\[[a-z-]+\] //' <<<"$finding")"
  elif [[ -n "$trap" ]]; then
    rule="$(sed -E 's/^secure-mattermost: \[([a-z-]+)\].*/\1/' <<<"$trap")"
    option="$(sed -E "s/.*option \`([^']+)'.*/\1/" <<<"$trap")"
  else
    named="$(grep -oE "option[[:space:]]+\`[^'\`]+['\`]" <<<"$text" | head -n1 || true)"
    if [[ -n "$named" ]]; then
      option="$(sed -E "s/^option[[:space:]]+\`([^'\`]+)['\`]$/\1/" <<<"$named")"
    fi
  fi
  jq -n --arg option "$option" --arg rule "$rule" --arg message "$message" \
    '{option: (if $option == "" then null else $option end)}
     + (if $rule == "" then {} else {rule: $rule} end)
     + {message: $message}'
}

# Pretty-prints Nix's JSON with every number kept exactly: jq 1.6 rounds
# integers beyond 2^53 and drops the sign of -0 (which Nix prints for a
# negative zero); Python's reader keeps integers exact, reads floats to the
# nearest double and writes them back in shortest form.
pretty() {
  python3 -c '
import json, sys
def integer(text):
    return -0.0 if text == "-0" else int(text)
value = json.loads(sys.stdin.read(), parse_int=integer)
sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
'
}

evaluate() {
  local name="$1" file="$2" err
  err="$(mktemp)"
  if json="$(nix-instantiate --eval --strict --json --expr "
      let lib = import <nixpkgs/lib>; in
      (import $root/modules/standalone.nix { inherit lib; modules = [ $file ]; }).evaluated" 2>"$err")"; then
    printf '%s' "$json" | pretty >"$out/$name.json"
    rm -f "$out/$name.error.json"
    echo "ok    $name"
  else
    error_json "$err" >"$out/$name.error.json"
    rm -f "$out/$name.json"
    echo "error $name: $(jq -r '.option // "-"' "$out/$name.error.json")"
  fi
  rm -f "$err"
}

for file in "$conf"/cases/*.nix; do
  evaluate "$(basename "$file" .nix)" "$file"
done
while read -r name path; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  evaluate "$name" "$root/$path"
done <"$conf/examples.list"

#!/usr/bin/env bash
# The benchmarks of issue #12, all of them: one command, a table of medians
# and ratios at the end (docs/benchmarks.md says what each row means).
#
#   bash benches/run.sh [--quick] [--write-docs]
#
#   --quick       smaller inputs and fewer runs, for trying things (minutes)
#   --write-docs  put the table, the growth tables and the plot into
#                 docs/benchmarks.md and docs/benchmarks-growth.svg
#
# Needs the tools of scripts/bench-deps.sh (hyperfine, conftest, deadnix;
# run it first). Optional, each row says "skipped: <why>" without it:
#   helm on PATH or ~/go/bin/helm, and the chart at
#     $SECURE_MATTERMOST_HELM_CHART (default /tmp/chart/charts/mattermost)
#   nix-instantiate and nixpkgs' lib at $SECURE_MATTERMOST_NIXPKGS_LIB
#     (default /work/nixlib when it exists)
# Work files (generated corpora, hyperfine's JSON) go to
# $SECURE_MATTERMOST_BENCH_DIR (default target/bench); corpora are cached
# there by the hash of their generator. Never run by the tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

quick=0 write_docs=0
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    --write-docs) write_docs=1 ;;
    *) echo "usage: $0 [--quick] [--write-docs]" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s\n' "$*"; }
work="${SECURE_MATTERMOST_BENCH_DIR:-$root/target/bench}"
res="$work/results"
rm -rf "$res"
mkdir -p "$res" "$work/corpus"

if ((quick)); then
  runs=3 warm=1 big_runs=1
  audit_ns="1 10 100 1000" lint_ns="10 100 1000" decl_ks="10 100 1000" import_ks="10 100"
else
  runs=10 warm=2 big_runs=3
  audit_ns="1 10 100 1000 10000" lint_ns="10 100 1000 10000" decl_ks="10 100 1000 10000" import_ks="10 100 1000 3000"
fi

step "tools"
tools_path="$(bash scripts/bench-deps.sh --print-path)" || {
  echo "hyperfine, conftest or deadnix missing: run bash scripts/bench-deps.sh first" >&2
  exit 1
}
export PATH="$tools_path:$PATH:$HOME/go/bin"
helm="$(command -v helm || true)"
chart="${SECURE_MATTERMOST_HELM_CHART:-/tmp/chart/charts/mattermost}"
nixlib="${SECURE_MATTERMOST_NIXPKGS_LIB:-}"
[[ -z "$nixlib" && -f /work/nixlib/lib/default.nix ]] && nixlib=/work/nixlib
nixinst="$(command -v nix-instantiate || true)"
versions=(
  "hyperfine=$(hyperfine --version | awk '{ print $2 }')"
  "conftest=$(go version -m "$(command -v conftest)" | awk '$1 == "mod" { print $3 }')"
  "deadnix=$(deadnix --version | awk '{ print $2 }')"
  "rnix=$(awk '/^name = "rnix"$/ { getline; print $3 }' Cargo.lock | tr -d '"')"
  "rustc=$(rustc --version | awk '{ print $2 }')"
)
[[ -n "$helm" ]] && versions+=("helm=$("$helm" version --template '{{.Version}}' 2>/dev/null)")
[[ -f "$chart/Chart.yaml" ]] && versions+=("chart=$(awk '$1 == "version:" { print $2; exit }' "$chart/Chart.yaml")")
[[ -n "$nixinst" ]] && versions+=("nix=$("$nixinst" --version | awk '{ print $NF }')")
[[ -n "$nixlib" ]] && versions+=("nixpkgs-lib=$nixlib")
printf '%s\n' "${versions[@]}"

step "build (release)"
cargo build --release -q
sm="$root/target/release/secure-mattermost"
parse_bin="$(cargo bench --bench rnix_parse --no-run --message-format=json -q 2>/dev/null |
  python3 -c 'import json, sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "rnix_parse" and m.get("executable"):
        print(m["executable"])')"
[[ -x "$parse_bin" ]] || { echo "could not build benches/rnix_parse.rs" >&2; exit 1; }

python3 benches/machine.py --mode "$( ((quick)) && echo quick || echo full)" "${versions[@]/#/--tool=}" > "$res/meta.json"

# hf NAME RUNS [hyperfine options] -- cmd_name cmd [cmd_name cmd ...]
hf() {
  local name="$1" n="$2"
  shift 2
  local opts=()
  while [[ "$1" != "--" ]]; do opts+=("$1"); shift; done
  shift
  local cmds=()
  while (($#)); do cmds+=(-n "$1" "$2"); shift 2; done
  hyperfine --style basic -i -w "$warm" -r "$n" "${opts[@]}" --export-json "$res/$name.json" "${cmds[@]}"
}
skip() { echo "skipped: $2" | tee "$res/$1.skip"; }

step "render: ours end to end vs helm template of the official chart with our values"
out="$work/render-out"
rm -rf "$out"
"$sm" render --config examples/kubernetes.nix --out "$out" --today 2026-06-01 >/dev/null 2>&1
if [[ -z "$helm" ]]; then
  skip render "helm is not installed"
elif [[ ! -f "$chart/Chart.yaml" ]]; then
  skip render "no chart at $chart (set SECURE_MATTERMOST_HELM_CHART)"
else
  cp "$out/values.yaml" "$work/values.yaml"
  hf render "$runs" -N --prepare "rm -rf $out" -- \
    ours "$sm render --config examples/kubernetes.nix --out $out --today 2026-06-01" \
    helm "$helm template mattermost $chart -f $work/values.yaml"
fi

step "audit: corpus of config.json variations"
bm="$work/baremetal"
rm -rf "$bm"
"$sm" render --config examples/baremetal.nix --out "$bm" --today 2026-06-01 >/dev/null 2>&1
cfg_hash="$(cat benches/gen_configs.py catalog/mattermost-defaults.json "$bm/config.json" | sha256sum | cut -c1-12)"
max_n="${audit_ns##* }"
configs="$work/corpus/configs-$cfg_hash-$max_n"
if [[ ! -d "$configs" ]]; then
  rm -rf "$work"/corpus/configs-*
  python3 benches/gen_configs.py --defaults catalog/mattermost-defaults.json --hardened "$bm/config.json" --out "$configs.tmp" --count "$max_n"
  mv "$configs.tmp" "$configs"
fi
echo "$max_n files in $configs ($(du -sh "$configs" | cut -f1))"
aw="$work/audit"
rm -rf "$aw"
mkdir -p "$aw"
all_configs=("$configs"/*.json)
for n in $audit_ns; do
  mkdir -p "$aw/n$n"
  ln "${all_configs[@]:0:n}" "$aw/n$n/"
done
python3 -c 'import json, sys; print(json.dumps({"mattermost_defaults": json.load(open(sys.argv[1]))}))' catalog/mattermost-defaults.json > "$aw/defaults-data.json"
policy=(--no-color --policy "$root/benches/policy" --data "$aw/defaults-data.json")

step "audit: sanity, conftest and audit agree rule by rule on a sample"
sample="$aw/n$max_n"
if ((max_n > 200)); then
  mkdir -p "$aw/sample"
  ln "${all_configs[@]:0:200}" "$aw/sample/"
  sample="$aw/sample"
fi
(cd "$aw" && "$sm" audit --format json "${sample#"$aw"/}"/*.json > agree-audit.jsonl 2>/dev/null) || true
(cd "$aw" && conftest test "${policy[@]}" --output json "${sample#"$aw"/}"/*.json > agree-conftest.json) || true
python3 benches/agree.py --policy benches/policy/audit.rego --catalog catalog/controls.json \
  --audit "$aw/agree-audit.jsonl" --conftest "$aw/agree-conftest.json" | tee "$res/agree.txt"

step "audit: files per second, ours (JSON lines, text) vs conftest (json, text)"
for n in $audit_ns; do
  r="$runs"
  ((n >= 10000)) && r="$big_runs"
  hf "audit-$n" "$r" -- \
    ours-json "cd $aw && $sm audit --format json n$n/*.json" \
    ours-text "cd $aw && $sm audit n$n/*.json" \
    conftest-json "cd $aw && conftest test ${policy[*]} --output json n$n" \
    conftest-text "cd $aw && conftest test ${policy[*]} n$n"
done

step "audit: peak memory (/usr/bin/time %M) by number of files"
for n in $audit_ns; do
  ((n < 100)) && continue
  for fmt in json text sarif; do
    kb="$(cd "$aw" && { /usr/bin/time -f %M "$sm" audit --format "$fmt" n$n/*.json >/dev/null 2>"$aw/time.err" || true; } && tail -1 "$aw/time.err")"
    printf 'ours-%s\t%s\t%s\n' "$fmt" "$n" "$kb" >> "$res/rss.tsv"
  done
  kb="$(cd "$aw" && { /usr/bin/time -f %M conftest test "${policy[@]}" --output json "n$n" >/dev/null 2>"$aw/time.err" || true; } && tail -1 "$aw/time.err")"
  printf 'conftest-json\t%s\t%s\n' "$n" "$kb" >> "$res/rss.tsv"
done
cat "$res/rss.tsv"

step "lint: generated Nix trees and nixpkgs' lib, ours vs deadnix vs a bare rnix parse"
nix_hash="$(sha256sum benches/gen_nix.py | cut -c1-12)"
for n in $lint_ns; do
  t="$work/corpus/nix-$nix_hash-$n"
  if [[ ! -d "$t" ]]; then
    rm -rf "$work"/corpus/nix-*-"$n"
    python3 benches/gen_nix.py --out "$t.tmp" --files "$n"
    mv "$t.tmp" "$t"
  fi
  printf 'generated-%s\t%s\t%s\n' "$n" "$n" "$(find "$t" -name '*.nix' -exec cat {} + | wc -c)" >> "$res/nix-sizes.tsv"
  r="$runs"
  ((n >= 10000)) && r="$big_runs"
  hf "lint-$n" "$r" -N -- \
    parse "$parse_bin $t" \
    ours "$sm lint $t" \
    deadnix "deadnix $t"
done
if [[ -n "$nixlib" && -d "$nixlib" ]]; then
  printf 'nixlib\t%s\t%s\n' "$(find "$nixlib" -name '*.nix' | wc -l)" "$(find "$nixlib" -name '*.nix' -exec cat {} + | wc -c)" >> "$res/nix-sizes.tsv"
  hf lint-nixlib "$runs" -N -- \
    parse "$parse_bin $nixlib" \
    ours "$sm lint $nixlib" \
    deadnix "deadnix $nixlib"
else
  skip lint-nixlib "nixpkgs' lib not found (set SECURE_MATTERMOST_NIXPKGS_LIB)"
fi

step "evaluation: the product card's example"
module_expr="let lib = import <nixpkgs/lib>; in (import $root/modules/standalone.nix { inherit lib; modules = [ $root/examples/kubernetes.nix ]; }).evaluated"
if [[ -z "$nixinst" ]]; then
  skip eval "nix-instantiate is not installed"
elif [[ -z "$nixlib" ]]; then
  skip eval "nixpkgs' lib not found (set SECURE_MATTERMOST_NIXPKGS_LIB)"
else
  export NIX_PATH="nixpkgs=$nixlib"
  hf eval "$runs" -N -- \
    nix-module "nix-instantiate --eval --strict --json -E '$module_expr'" \
    nix-bare-lib "nix-instantiate --eval -E 'builtins.seq (import <nixpkgs/lib>) null'" \
    ours "$sm eval --config examples/kubernetes.nix"
fi

step "evaluation: scaling with declaration size (long list, many attributes, many imports)"
dw="$work/decl"
rm -rf "$dw"
for kind in list attrs imports; do
  ks="$decl_ks"
  [[ $kind == imports ]] && ks="$import_ks"
  for k in $ks; do
    d="$dw/$kind-$k"
    python3 benches/gen_decl.py --kind "$kind" --size "$k" --out "$d"
    cmds=(ours "$sm eval --config $d/decl.nix")
    if [[ -n "$nixinst" && -n "$nixlib" ]]; then
      cmds+=(nix "nix-instantiate --eval --strict --json -E 'let lib = import <nixpkgs/lib>; in (import $root/modules/standalone.nix { inherit lib; modules = [ $d/decl.nix ]; }).evaluated'")
    fi
    hf "decl-$kind-$k" "$runs" -N -- "${cmds[@]}"
  done
done

python3 benches/machine.py --mode end > "$res/meta-end.json"

step "report"
report_args=(--results "$res" --out "$work/report.md" --svg "$work/benchmarks-growth.svg")
((write_docs)) && report_args+=(--docs docs/benchmarks.md --docs-svg docs/benchmarks-growth.svg --readme README.md)
python3 benches/report.py "${report_args[@]}"

#!/usr/bin/env bash
# Installs checkov (PyPI, pinned below) into its own virtual environment,
#   ${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/checkov/
# so its many pinned dependencies cannot clash with the system Python's
# packages. Idempotent: a second run only checks the venv and prints the path.
# tests/kubernetes_lint.rs runs the binary offline (see its `checkov` helper).
# The last stdout line is the checkov executable's path.
#   --print-path   only print that path; exit 3 if it is not installed
set -euo pipefail
version=3.3.30
cache="${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost"
dest="$cache/checkov"
exe="$dest/bin/checkov"
stamp="$dest/.installed-checkov-$version"

installed() { [[ -x "$exe" && -f "$stamp" ]]; }

if [[ "${1:-}" == "--print-path" ]]; then
  echo "$exe"
  installed || exit 3
  exit 0
fi
if installed; then
  echo "checkov $version already installed: $exe"
  echo "$exe"
  exit 0
fi

# checkov needs Python >= 3.9; 3.11+ avoids its pyston extras on x86_64.
py=""
for c in python3.12 python3.11 python3.13 python3; do
  if "$c" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 14)))' >/dev/null 2>&1; then
    py="$c"
    break
  fi
done
if [[ -z "$py" ]]; then
  echo "checkov-install: no Python 3.11-3.13 found (python3.12, python3.11, python3.13, python3)" >&2
  exit 1
fi

start=$SECONDS
mkdir -p "$cache"
# A venv's scripts name its interpreter by absolute path, so it is built in
# place; the stamp file, written last, marks a complete install.
rm -rf "$dest"
trap 'installed || rm -rf "$dest"' EXIT
echo "creating a venv in $dest with $("$py" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
"$py" -m venv "$dest"
echo "installing checkov==$version from PyPI"
"$dest/bin/python" -m pip install -q --disable-pip-version-check --no-input "checkov==$version"
got="$(CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE "$exe" --version 2>/dev/null | tail -n1)"
if [[ "$got" != "$version" ]]; then
  echo "checkov-install: $exe --version printed '$got', expected $version" >&2
  exit 1
fi
touch "$stamp"
echo "installed checkov $version in $((SECONDS - start))s"
echo "$exe"

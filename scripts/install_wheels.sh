#!/usr/bin/env bash
# Installs one engine's pinned wheels from the Python package registry into a
# virtual environment of its own, .deps/venv/<name> (git-ignored), made with
# Debian's /usr/bin/python3. The pins are scripts/wheels/<name>.txt; engines
# get one environment each because their pins conflict (MXNet needs NumPy <
# 1.24, TensorFlow 2.21 NumPy 2). Idempotent: when the environment was built
# from the same pin file it only checks, in well under a second.
# Usage: scripts/install_wheels.sh NAME
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: install_wheels.sh NAME}
pins="$root/scripts/wheels/$name.txt"
venv="$root/.deps/venv/$name"
[[ -f "$pins" ]] || { echo "install_wheels: no pin file $pins" >&2; exit 1; }

digest=$(sha256sum "$pins" | cut -d' ' -f1)
stamp="$venv/.installed-$digest"
[[ -f "$stamp" && -x "$venv/bin/python" ]] && exit 0

echo "wheels: installing $name's pinned wheels into $venv (first time: a few minutes)"
rm -rf "$venv"
/usr/bin/python3 -m venv "$venv"
# --no-deps: the pin file lists every package, so pip installs exactly these.
# --no-cache-dir: the wheels are unpacked into the environment once; a second
# copy in pip's cache would double the disk this needs (TensorFlow alone is GBs).
"$venv/bin/python" -m pip install --quiet --no-deps --no-cache-dir --requirement "$pins"
"$venv/bin/python" -m pip check >/dev/null || {
  "$venv/bin/python" -m pip check >&2
  echo "wheels: $pins is not a consistent set" >&2
  exit 1
}
touch "$stamp"
echo "wheels: $name ready ($venv)"

#!/usr/bin/env bash
# Installs everything BGTAI needs on a fresh Debian/Ubuntu machine.
#   bash scripts/install.sh         runtime: apt packages.txt + requirements.txt
#                                   (+ requirements-nodeps.txt without their dependencies)
#   bash scripts/install.sh --dev   also the test tools: chromium + driver, g++, requirements-dev.txt
# Safe to re-run: apt is skipped when its packages are already present.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

apt_pkgs=$(grep -vE '^\s*(#|$)' packages.txt | tr '\n' ' ')
# g++: torch.compile's CPU backend builds C++ kernels (the compiled-encoder test)
[ "$dev" = 1 ] && apt_pkgs="$apt_pkgs chromium chromium-driver g++"

missing=""
for p in $apt_pkgs; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if command -v apt-get >/dev/null; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "[install] apt-get install:$missing"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
  else
    echo "[install] warning: apt-get not found; install these yourself:$missing" >&2
  fi
fi

req=requirements.txt
[ "$dev" = 1 ] && req=requirements-dev.txt
echo "[install] pip install -r $req"
python -m pip install -q --disable-pip-version-check -r "$req"
echo "[install] pip install --no-deps -r requirements-nodeps.txt"
python -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
echo "[install] Moonshine base's float32 copy (built once, a few seconds)"
python -m scripts.prepare_recogniser

if [ "$dev" = 1 ] && command -v apt-get >/dev/null; then
  # the Debian recordings the tests' mini data sets are built from (4 MB, cached once)
  echo "[install] mini data set packages"
  python -m scripts.make_mini_datasets --download-only || {
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq && python -m scripts.make_mini_datasets --download-only; }
fi

#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages AnchorDesk needs to build, run and test.
# Idempotent: only missing packages are installed, so a second run is a no-op (~1 s).
# Usage: scripts/install-deps.sh [run|test]   (default: test, which is a superset of run)
set -euo pipefail

profile="${1:-test}"

build_pkgs=(
  build-essential pkg-config curl file libssl-dev
  libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev libgtk-3-dev
  libsoup-3.0-dev libjavascriptcoregtk-4.1-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-plugins-base-apps gstreamer1.0-nice gstreamer1.0-x gstreamer1.0-gl
  gstreamer1.0-alsa gstreamer1.0-pulseaudio
  libasound2-dev libnice-dev
  fonts-noto-cjk
)
test_pkgs=(
  xvfb xauth imagemagick webkit2gtk-driver dbus-x11 fonts-dejavu-core chromium chromium-driver ffmpeg iproute2 iptables python3
  postgresql nginx-light pulseaudio
)

pkgs=("${build_pkgs[@]}")
if [[ "$profile" == "test" ]]; then
  pkgs+=("${test_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [[ "$(id -u)" != "0" ]]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#pkgs[@]} system packages present"
else
  echo "install-deps: installing ${#missing[@]} missing packages: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The UI toolchain (Vite 8) needs Node.js >= 20.19. Debian 12's own nodejs is 18, so when
# the machine has no recent Node we take the official build published on the npm registry
# (package `node`) into a local prefix and link it onto the PATH.
node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local v major minor
  v="$(node -p 'process.versions.node' 2>/dev/null)" || return 1
  major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
  ((major > 20 || (major == 20 && minor >= 19)))
}
if ! node_ok; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-deps: installing Debian's nodejs/npm to bootstrap a recent Node.js"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  echo "install-deps: installing Node.js 22 from the npm registry into /usr/local"
  $SUDO npm install -g --no-audit --no-fund --prefix /usr/local node@22 >/dev/null
  hash -r
  node_ok || { echo "install-deps: Node.js >= 20.19 is required, found $(node --version 2>/dev/null || echo none)" >&2; exit 1; }
fi
echo "install-deps: node $(node --version), npm $(npm --version)"

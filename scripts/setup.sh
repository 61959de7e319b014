#!/usr/bin/env bash
# Sets up a fresh machine for the studio and its tests: Debian's chromium (for the Playwright e2e tests; Playwright
# never downloads a browser here), Debian's python3-torch (the authors' PyTorch code is the oracle of
# tests/multistepConformance.test.ts, tests/toPth.test.ts and the GPU kit's test), xz-utils and binutils
# (`npm run gpu:kit` compresses a stripped Node binary), and the npm dependencies from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
browser=()
missing=()
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then browser+=(chromium); fi
if ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then missing+=(python3-torch); fi
if ! command -v xz >/dev/null 2>&1; then missing+=(xz-utils); fi
if ! command -v strip >/dev/null 2>&1; then missing+=(binutils); fi
if [ ${#browser[@]} -gt 0 ] || [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${browser[*]} ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  if [ ${#browser[@]} -gt 0 ]; then DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${browser[@]}" >/dev/null; fi
  if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== installing npm dependencies"
  npm ci --no-audit --no-fund
fi

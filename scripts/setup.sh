#!/usr/bin/env bash
# Sets up a fresh machine for the studio and its tests: Debian's chromium (for the Playwright e2e tests; Playwright
# never downloads a browser here), Debian's python3-torch (the authors' code, the conformance oracle) and the npm
# dependencies from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# The authors' PyTorch code is the oracle of the conformance tests (tests/multistepConformance.test.ts): Debian's torch.
if ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
  echo "== installing Debian's python3-torch"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== installing npm dependencies"
  npm ci --no-audit --no-fund
fi

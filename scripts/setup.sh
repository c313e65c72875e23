#!/usr/bin/env bash
# npm run setup: everything a fresh machine needs, in one step that works before
# anything is installed. System packages first (installed with apt-get when they
# are missing and we may; otherwise the exact command is printed and we stop),
# then the npm dependencies and the build.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/local/sbin/$1" ]; }

# binary:package — what the lab runs, and the Debian package that provides it.
#   redis-server   the shared store (service tests, local stack)
#   nginx          the balancer of the local stack
#   wrk            the fast load generator the bench prefers
#   docker-compose validates docker-compose.yml statically (no engine needed)
#   chromium       renders the HTML report in the report's browser test
wanted="redis-server:redis-server nginx:nginx wrk:wrk docker-compose:docker-compose chromium:chromium"
missing=()
for pair in $wanted; do
  have "${pair%%:*}" || missing+=("${pair#*:}")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    if [ -z "$sudo" ] || sudo -n true 2>/dev/null; then
      $sudo apt-get update -qq
      # --no-install-recommends: docker-compose would otherwise pull a whole Docker engine.
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
      echo "setup: cannot install without root. Run this, then npm run setup again:" >&2
      echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
      exit 1
    fi
  elif command -v brew >/dev/null 2>&1; then
    echo "setup: on macOS, run this, then npm run setup again:" >&2
    echo "  brew install redis nginx wrk docker-compose && brew install --cask chromium" >&2
    exit 1
  else
    echo "setup: install these packages with your system's package manager, then run npm run setup again: ${missing[*]}" >&2
    exit 1
  fi
fi

npm ci
npm run build
echo "setup: done. Next: npm start (the stack), or npm test."

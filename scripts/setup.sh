#!/usr/bin/env bash
# npm run setup: everything a fresh machine needs, in one step that works before
# anything is installed. System packages first (installed with apt-get when they
# are missing and we may; otherwise the exact command is printed and we stop),
# then the npm dependencies and the build.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/local/sbin/$1" ]; }

# Node.js 20.19 or newer: PM2 loads ecosystem.config.js (an ES module) with require().
node_ok=$(node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.stdout.write(a > 20 || (a === 20 && b >= 19) ? "yes" : "no")' 2>/dev/null || echo none)
if [ "$node_ok" != "yes" ]; then
  echo "setup: Node.js 20.19 or newer is needed (found: $(node -v 2>/dev/null || echo none)). See https://nodejs.org/ or use nvm." >&2
  exit 1
fi

# binary:package — what the lab runs, and the Debian package that provides it.
#   redis-server   the shared store (service tests, local stack)
#   nginx          the balancer of the local stack
#   wrk            the fast load generator the bench prefers
#   docker-compose runs docker-compose.yml in the compose e2e (and checks it statically)
#   chromium       renders the HTML report in the report's browser test
#   prometheus, prometheus-nginx-exporter, prometheus-redis-exporter
#                  watch the local stack (npm start runs them; OBSERVE=0 leaves them out)
wanted="redis-server:redis-server nginx:nginx wrk:wrk docker-compose:docker-compose chromium:chromium"
wanted="$wanted prometheus:prometheus prometheus-nginx-exporter:prometheus-nginx-exporter prometheus-redis-exporter:prometheus-redis-exporter"
missing=()
for pair in $wanted; do
  have "${pair%%:*}" || missing+=("${pair#*:}")
done
# The compose e2e (Linux): a Docker engine of its own (npm run docker:test-env: its own
# data root and socket, never the system's Docker) and mmdebstrap for the Debian base of
# its stand-in images. Debian's docker.io only when no Docker engine (dockerd) is
# installed: an existing engine stays as it is, and a Docker client alone (some
# machines have only /usr/local/bin/docker) cannot run containers. iptables: the
# engine's networks need it.
if [ "$(uname -s)" = Linux ]; then
  have mmdebstrap || missing+=(mmdebstrap)
  have dockerd || missing+=(docker.io)
  have iptables || missing+=(iptables)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    if [ -z "$sudo" ] || sudo -n true 2>/dev/null; then
      $sudo apt-get update -qq
      # --no-install-recommends: docker-compose would otherwise pull a whole Docker engine.
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
      # Debian starts the system nginx (:80), redis-server (:6379), Prometheus (:9090),
      # its exporters and Docker it has just installed; the lab runs its own. Stop and
      # disable the services this step installed (never ones that were there before).
      for pair in nginx:nginx redis-server:redis-server docker.io:docker prometheus:prometheus \
                  prometheus-nginx-exporter:prometheus-nginx-exporter prometheus-redis-exporter:prometheus-redis-exporter; do
        package="${pair%%:*}" service="${pair#*:}"
        case " ${missing[*]} " in *" $package "*)
          if [ -d /run/systemd/system ]; then
            [ "$service" != docker ] || $sudo systemctl disable --now docker.socket >/dev/null 2>&1 || true
            $sudo systemctl disable --now "$service" >/dev/null 2>&1 || true
          elif command -v service >/dev/null 2>&1; then
            $sudo service "$service" stop >/dev/null 2>&1 || true
          fi
          echo "setup: stopped the system $service that apt-get started (the lab runs its own)";;
        esac
      done
    else
      echo "setup: cannot install without root. Run this (as root, or with sudo), then npm run setup again:" >&2
      echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
      exit 1
    fi
  elif command -v brew >/dev/null 2>&1; then
    echo "setup: on macOS, run this, then npm run setup again:" >&2
    echo "  brew install redis nginx wrk docker-compose prometheus && brew install --cask chromium" >&2
    echo "  (the exporters are Debian's: on macOS run the stack with OBSERVE=0)" >&2
    echo "  (the compose e2e needs Linux and root: it starts a Docker engine of its own; elsewhere it skips)" >&2
    exit 1
  else
    echo "setup: install these packages with your system's package manager, then run npm run setup again: ${missing[*]}" >&2
    exit 1
  fi
fi

npm ci
npm run build
echo "setup: done. Next: npm start (the stack), or npm test."

#!/usr/bin/env bash
# npm test: install what the suite needs (on a fresh machine too), then run every test with bun:test.
# Extra arguments go to `bun test` (e.g. npm test -- test/resolve-path.test.ts).
set -uo pipefail
cd "$(dirname "$0")/.."

{ [ -x node_modules/.bin/bun ] && [ -x node_modules/.bin/biome ]; } || npm install --no-audit --no-fund

# Format and lint first (biome.json says which files): a failure stops the run here, before anything is installed or started.
if ! node_modules/.bin/biome check src test bench scripts; then
  echo "npm test: biome check failed (above). Fix what it names, or let it: npx biome check --write src test bench scripts" >&2
  exit 1
fi

# Headless Chromium for the /swagger page test (Debian's package; never a downloaded browser build).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "test setup: installing chromium (apt-get)…"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null) \
    || echo "test setup: could not install chromium; the browser test will say so"
fi

# Prometheus (Debian's package) for the /metrics scrape test, which starts its own server on a free port: the package's
# service is kept from starting (policy-rc.d while installing, then disabled), and recommends (node-exporter) are not installed.
if ! command -v prometheus >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "test setup: installing prometheus (apt-get)…"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  POLICY=/usr/sbin/policy-rc.d OWN_POLICY=""
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null && $SUDO chmod +x "$POLICY" && OWN_POLICY=1
  fi
  ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null) \
    || echo "test setup: could not install prometheus; the scrape test will say so"
  [ -n "$OWN_POLICY" ] && $SUDO rm -f "$POLICY"
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
fi

# Redis and PostgreSQL (Debian's packages) for the several-instances tests, which start their own servers on free loopback
# ports: the packages' services are kept from starting (policy-rc.d while installing, then disabled), as for prometheus.
if { ! command -v redis-server >/dev/null 2>&1 || [ ! -x /usr/lib/postgresql/15/bin/initdb ]; } && command -v apt-get >/dev/null 2>&1; then
  echo "test setup: installing redis-server and postgresql (apt-get)…"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  POLICY=/usr/sbin/policy-rc.d OWN_POLICY=""
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null && $SUDO chmod +x "$POLICY" && OWN_POLICY=1
  fi
  ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server postgresql >/dev/null) \
    || echo "test setup: could not install redis-server / postgresql; the several-instances tests will say so"
  [ -n "$OWN_POLICY" ] && $SUDO rm -f "$POLICY"
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now redis-server postgresql >/dev/null 2>&1 || true; fi
fi

# The coding CLIs the end-to-end tests drive, installed from npm into a cache outside node_modules.
bash scripts/install-clis.sh || echo "test setup: could not install the coding CLIs; their tests will say so"

mkdir -p .test-results
# tests start real servers, processes and clients: give a loaded CI machine room (bunfig has no per-test timeout key)
exec node_modules/.bin/bun test --timeout=30000 --reporter=junit --reporter-outfile=.test-results/junit.xml "$@"

#!/usr/bin/env bash
# `npm test` runs this first (the `pretest` script): it provisions what npm cannot install and
# the suite needs, the same way .ci/run does, so a fresh clone's `npm install && npm test` is
# green with no other step. Where it cannot install something itself it says in one line what
# to run, and stops before the suite starts (a red run that names its cause beats 5 minutes of
# tests ending in "Chromium is missing").
set -euo pipefail

node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number);console.log(a>22||(a===22&&b>=15)?1:0)')
if [ "$node_ok" != 1 ]; then
  echo "npm test: Node $(node -v) is too old; Tally needs 22.15 or later: run npm install (it brings Node 24 as a dev dependency) or run npm test through npm." >&2
  exit 1
fi

# Installs Debian package $1 for $2 when we are root with apt-get; otherwise says what to run
# and stops before the suite starts.
provision() {
  local package=$1 purpose=$2
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "npm test: installing $package for $purpose (apt-get install $package)…"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "$package" >/dev/null
  else
    echo "npm test: $purpose need $package: run 'sudo apt-get install -y $package' and try again." >&2
    exit 1
  fi
}

# The browser tests drive Debian's Chromium through playwright-core (playwright's own browser
# download cannot run here: only the npm registry and Debian's packages are reachable).
if [ ! -x /usr/bin/chromium ]; then
  provision chromium "the browser tests"
fi

# The pooler tests (test/pooler/) run Tally through Debian's PgBouncer in transaction mode,
# as teams run it in front of a managed PostgreSQL (docs/operations.md, "Poolers").
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  provision pgbouncer "the pooler tests"
fi

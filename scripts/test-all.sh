#!/usr/bin/env bash
# Installs what the tests need (npm packages; nginx, redis, PostgreSQL, pgbouncer, pgBackRest, promtool, shellcheck, systemd-analyze,
# cloud-init, docker-compose from Debian) and runs every check: typecheck, then the whole vitest suite.
# Tests that need a server start it on a loopback port themselves and stop it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  need=()
  for pair in nginx:nginx redis-server:redis-server pgbouncer:pgbouncer promtool:prometheus \
    shellcheck:shellcheck cloud-init:cloud-init docker-compose:docker-compose dot:graphviz systemd-analyze:systemd \
    pgbackrest:pgbackrest; do
    command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
  done
  [ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
  if [ "${#need[@]}" -gt 0 ]; then
    echo "installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # Debian starts packaged services on install; the tests run their own on loopback ports.
    for s in nginx redis-server postgresql pgbouncer prometheus; do
      (systemctl stop "$s" || service "$s" stop) >/dev/null 2>&1 || true
    done
  fi
fi

npm ci --no-audit --no-fund
npx tsc --noEmit -p tsconfig.json
npx vitest run

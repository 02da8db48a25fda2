#!/usr/bin/env bash
# Installs what the tests need (npm packages; nginx, redis, PostgreSQL, pgbouncer, pgBackRest, promtool, shellcheck, systemd-analyze,
# cloud-init, docker-compose, and Django, Channels, Daphne, Gunicorn with their drivers for the example app, from Debian)
# and runs every check: typecheck, lint, format check, then the whole vitest suite.
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
  # The example Django app's stack (test/app-live.test.ts), run by Debian's own interpreter, /usr/bin/python3.
  for pair in django:python3-django channels:python3-django-channels channels_redis:python3-channels-redis \
    daphne:python3-daphne gunicorn:gunicorn psycopg2:python3-psycopg2 django_redis:python3-django-redis \
    pymemcache:python3-pymemcache dj_database_url:python3-dj-database-url; do
    /usr/bin/python3 -c "import ${pair%%:*}" 2>/dev/null || need+=("${pair#*:}")
  done
  command -v jq >/dev/null || need+=(jq)
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
# ESLint with type information (no-floating-promises, function length) and the formatter's check.
npx eslint .
npx prettier --check .
npx vitest run

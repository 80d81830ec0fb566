#!/usr/bin/env bash
# Makes sure the services the test suite talks to are up on loopback: Redis on 6379 and
# PostgreSQL on 5432 (database `test`). This machine kind starts both before a session;
# elsewhere this starts them, installing Redis from Debian's packages when missing.
# Prints what it did; exits non-zero with a clear message when it cannot.
set -uo pipefail

is_redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
is_postgres_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if ! is_redis_up; then
  if ! command -v redis-server >/dev/null; then
    echo "ensure-services: redis-server missing; installing it from Debian's packages"
    (apt-get update -qq && apt-get install -y -qq redis-server >/dev/null) || { echo "ensure-services: cannot install redis-server (need root and Debian's package mirror)"; exit 1; }
  fi
  echo "ensure-services: starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 50); do is_redis_up && break; sleep 0.1; done
  is_redis_up || { echo "ensure-services: Redis did not come up on 127.0.0.1:6379"; exit 1; }
fi

if ! is_postgres_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "ensure-services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 100); do is_postgres_up && break; sleep 0.1; done
  fi
  is_postgres_up || { echo "ensure-services: PostgreSQL is not running on 127.0.0.1:5432 and cannot be started here; install it (apt-get install postgresql) with trust auth for local connections and a database named test"; exit 1; }
fi

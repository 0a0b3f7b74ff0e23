#!/usr/bin/env bash
# Makes the compose stack's secrets once: nothing in docker-compose.yml has a default password or token.
# Writes, next to docker-compose.yml (both git-ignored, mode 600):
#   .env       the database passwords, Grafana's admin password, and the digests (sha256:...) of the tokens,
#              which compose reads by itself;
#   .secrets/  the tokens themselves: operator-token, balance-token (yours to use), prometheus-token
#              (Prometheus scrapes /metrics with it).
# A value already in .env is kept: run it again and nothing changes. To rotate one, delete its line (and,
# for a database password, see docs/security.md). COMPOSE_DIR: where to write (the repository's root).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${COMPOSE_DIR:-$root}
env_file=$dir/.env
secrets=$dir/.secrets
umask 077
mkdir -p "$secrets"
touch "$env_file"
chmod 600 "$env_file"

random() { head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
digest() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
has() { grep -q "^$1=" "$env_file"; }
put() { has "$1" || echo "$1=$2" >>"$env_file"; }

for name in POSTGRES_PASSWORD STARPETS_DB_OWNER_PASSWORD STARPETS_DB_APP_PASSWORD STARPETS_DB_SQL_PASSWORD \
  GRAFANA_ADMIN_PASSWORD; do
  put "$name" "$(random)"
done

# A token: its file holds it, .env only its digest behind its name (the instances keep nothing else).
token() { # variable, name, file
  local value
  if [ ! -s "$secrets/$3" ]; then
    random >"$secrets/$3"
  fi
  value=$(cat "$secrets/$3")
  put "$1" "$2:sha256:$(digest "$value")"
}
token STARPETS_OPERATOR_TOKENS operator operator-token
token STARPETS_VIEWER_TOKENS prometheus prometheus-token
token STARPETS_BALANCE_TOKENS balance balance-token
chmod 600 "$secrets"/*

echo "compose secrets: $env_file (passwords, token digests) and $secrets/ (the tokens); e.g."
echo "  curl -H \"Authorization: Bearer \$(cat .secrets/operator-token)\" http://localhost/tasks"

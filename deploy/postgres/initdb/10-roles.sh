#!/bin/sh
# StarPets' three roles (starpets-scheduler/src/main/resources/db/roles.sql) with the passwords given in the environment:
# STARPETS_DB_OWNER_PASSWORD, STARPETS_DB_APP_PASSWORD, STARPETS_DB_SQL_PASSWORD (empty: left as it is), and
# optionally their names STARPETS_DB_OWNER_ROLE, STARPETS_DB_APP_ROLE, STARPETS_DB_SQL_ROLE. Connects as a
# superuser through libpq's PG* variables, else as POSTGRES_USER to POSTGRES_DB (the postgres image's).
#  - compose: run by the postgres image once, when the data volume is first made (/docker-entrypoint-initdb.d,
#    roles.sql mounted at /starpets/roles.sql). On a volume made before the roles, run it by hand, once:
#      docker compose exec postgres sh /docker-entrypoint-initdb.d/10-roles.sh
#  - Helm: the chart's roles Job (database.roles.create), with both files from a ConfigMap.
# The passwords reach psql as variables; the select that hands them to the script prints nowhere.
set -eu
psql -v ON_ERROR_STOP=1 \
  --username "${PGUSER:-${POSTGRES_USER:-postgres}}" --dbname "${PGDATABASE:-${POSTGRES_DB:-starpets}}" \
  -v owner_password="${STARPETS_DB_OWNER_PASSWORD:-}" \
  -v app_password="${STARPETS_DB_APP_PASSWORD:-}" \
  -v sql_password="${STARPETS_DB_SQL_PASSWORD:-}" \
  -v owner_role="${STARPETS_DB_OWNER_ROLE:-}" \
  -v app_role="${STARPETS_DB_APP_ROLE:-}" \
  -v sql_role="${STARPETS_DB_SQL_ROLE:-}" \
  -v roles_sql="${STARPETS_ROLES_SQL:-/starpets/roles.sql}" <<'SQL'
\o /dev/null
select set_config('starpets.owner_password', :'owner_password', false),
       set_config('starpets.app_password', :'app_password', false),
       set_config('starpets.sql_password', :'sql_password', false),
       set_config('starpets.owner_role', :'owner_role', false),
       set_config('starpets.app_role', :'app_role', false),
       set_config('starpets.sql_role', :'sql_role', false);
\o
\i :roles_sql
SQL

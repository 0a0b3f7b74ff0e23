-- StarPets' database roles (docs/security.md, "Database roles"), created or brought up to date. Run it as
-- a superuser connected to the StarPets database; it changes nothing the second time. Used as is by the
-- embedded PostgreSQL (config.EmbeddedPostgresServer, and so the native twin), the compose stack
-- (deploy/postgres/initdb/10-roles.sh) and the Helm chart's roles Job (the same script, linked into
-- deploy/helm/starpets/files).
--
--   starpets_owner  owns the database, its public schema, StarPets' schema (starpets.db.schema, which it
--                   creates) and every StarPets table: runs the migrations.
--   starpets_app    what the service runs as: reads and writes the rows of StarPets' tables (granted by the
--                   owner after every migration: db/callback/afterMigrate.sql) and nothing else (no DDL, not
--                   the migration history); a member of starpets_sql, so that it may end the sessions of
--                   sql tasks (pg_terminate_backend).
--   starpets_sql    what sql tasks run as: no right on any StarPets table; grant it what your tasks need.
--
-- Parameters, read with current_setting(): set them earlier in the same session, e.g.
--   select set_config('starpets.app_password', '…', false);
-- starpets.owner_password, starpets.app_password, starpets.sql_password (unset or empty: the role's password
-- is left as it is; a new role then has none, which only local trust authentication accepts), and the role
-- names starpets.owner_role, starpets.app_role, starpets.sql_role (the defaults above). Needs PostgreSQL 16
-- or newer (GRANT … WITH INHERIT, SET).
do $roles$
declare
    owner_role text := coalesce(nullif(current_setting('starpets.owner_role', true), ''), 'starpets_owner');
    app_role   text := coalesce(nullif(current_setting('starpets.app_role', true), ''), 'starpets_app');
    sql_role   text := coalesce(nullif(current_setting('starpets.sql_role', true), ''), 'starpets_sql');
    r record;
begin
    for r in select * from (values (owner_role, current_setting('starpets.owner_password', true)),
                                   (app_role, current_setting('starpets.app_password', true)),
                                   (sql_role, current_setting('starpets.sql_password', true))) as v (name, password)
    loop
        if not exists (select from pg_roles where rolname = r.name) then
            execute format('create role %I', r.name);
        end if;
        -- Logging in, and nothing more: no superuser, no creating roles or databases, no replication.
        execute format('alter role %I login nosuperuser nocreatedb nocreaterole noreplication nobypassrls', r.name);
        -- A password given is set; none given leaves the role's own (a role made by someone else, e.g. the
        -- owner an operator such as CloudNativePG manages, keeps its password).
        if coalesce(r.password, '') <> '' then
            execute format('alter role %I password %L', r.name, r.password);
        end if;
    end loop;

    -- The database is the owner's, and so is its public schema (owned by pg_database_owner since
    -- PostgreSQL 15). Only the three roles may connect; nobody else creates anything in public.
    execute format('alter database %I owner to %I', current_database(), owner_role);
    execute format('revoke all on database %I from public', current_database());
    execute format('grant connect on database %I to %I, %I, %I', current_database(), owner_role, app_role, sql_role);
    -- Temporary tables for sql tasks that build one; the service needs none.
    execute format('grant temporary on database %I to %I', current_database(), sql_role);
    revoke create on schema public from public;
    execute format('grant usage on schema public to %I, %I', app_role, sql_role);

    -- StarPets' tables made before these roles existed (an older StarPets migrated as a superuser, all in
    -- public: config.LegacyLayout.TABLES and the history) go to the owner, which moves them to StarPets'
    -- schema at its next start; their identity sequences follow them. Other tables in public stay as they are.
    for r in select c.relname
               from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = 'public' and c.relkind in ('r', 'p') and pg_get_userbyid(c.relowner) <> owner_role
                and c.relname in ('flyway_schema_history', 'tasks', 'task_runs', 'instances', 'users', 'scheduler_epoch',
                                  'task_events', 'balance_changes', 'balance_idempotency_keys', 'balance_changes_pruned',
                                  'task_notify', 'notifications', 'notify_scan', 'backfills')
    loop
        execute format('alter table public.%I owner to %I', r.relname, owner_role);
    end loop;

    -- The service may end sql tasks' sessions: PostgreSQL lets a role signal the backends of the roles
    -- whose privileges it has (has_privs_of_role), so the membership inherits; it cannot SET ROLE to it.
    if not exists (select from pg_auth_members m
                    where m.roleid = (select oid from pg_roles where rolname = sql_role)
                      and m.member = (select oid from pg_roles where rolname = app_role)) then
        execute format('grant %I to %I with inherit true, set false', sql_role, app_role);
    end if;
end
$roles$;

-- After every migration, as the schema owner (config.DatabaseConfig runs Flyway with DB_OWNER_USER), in
-- StarPets' schema (starpets.db.schema: Flyway's default schema, so current_schema() here): the role the
-- service runs as (DB_USER, here ${runtimeRole}) may read and write the rows of every StarPets table and
-- use their sequences, and nothing else: no DDL, no TRUNCATE, not the migration history. At every start,
-- so a table a later migration adds is covered before the service touches it, and by default privileges
-- for what the owner creates in the schema later. Nothing to do when one role does both. The sql tasks'
-- role (DB_SQL_USER, here ${sqlRole}) may look up the schema's names and call the fenced commit's lock
-- (V13), and nothing else: no right on any table.
do $grants$
declare
    runtime text := '${runtimeRole}';
    sql_tasks text := '${sqlRole}';
    t record;
begin
    -- Instances started together run this at once: two GRANTs on one object at the same moment fail
    -- ("tuple concurrently updated"), which stops the start. One at a time.
    perform pg_advisory_xact_lock(hashtext('starpets.after-migrate'));
    if sql_tasks <> current_user and exists (select from pg_roles where rolname = sql_tasks) then
        execute format('grant usage on schema %I to %I', current_schema(), sql_tasks);
        execute format('grant execute on function %I.starpets_lock_fence(text, bigint, bigint) to %I',
                       current_schema(), sql_tasks);
    end if;
    if runtime = current_user then
        return;
    end if;
    execute format('grant usage on schema %I to %I', current_schema(), runtime);
    execute format('alter default privileges in schema %I grant select, insert, update, delete on tables to %I',
                   current_schema(), runtime);
    execute format('alter default privileges in schema %I grant usage, select on sequences to %I',
                   current_schema(), runtime);
    for t in select c.relname
               from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = current_schema()
                and c.relkind in ('r', 'p')
                and c.relname <> '${flyway:table}'
                and pg_get_userbyid(c.relowner) = current_user
    loop
        execute format('grant select, insert, update, delete on table %I.%I to %I', current_schema(), t.relname, runtime);
    end loop;
    for t in select c.relname
               from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = current_schema() and c.relkind = 'S' and pg_get_userbyid(c.relowner) = current_user
    loop
        execute format('grant usage, select on sequence %I.%I to %I', current_schema(), t.relname, runtime);
    end loop;
    execute format('revoke all on table %I.%I from %I', current_schema(), '${flyway:table}', runtime);
end
$grants$;

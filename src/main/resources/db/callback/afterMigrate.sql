-- After every migration, as the schema owner (config.DatabaseConfig runs Flyway with DB_OWNER_USER): the
-- role the service runs as (DB_USER, here ${runtimeRole}) may read and write the rows of every StarPets
-- table and use their sequences, and nothing else: no DDL, no TRUNCATE, not the migration history. At
-- every start, so a table a later migration adds is covered before the service touches it. Nothing to
-- do when one role does both.
do $grants$
declare
    runtime text := '${runtimeRole}';
    t record;
begin
    if runtime = current_user then
        return;
    end if;
    execute format('grant usage on schema %I to %I', current_schema(), runtime);
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

-- The fenced commit of sql tasks (SqlHandler, RunContext.lockFence): right before its commit, a run's
-- transaction locks its task's row FOR SHARE where the fence and current run are still its own. sql
-- tasks run as their own role, which has no right on tasks (FOR SHARE needs UPDATE); this function
-- runs as the schema's owner and does only that lock. Executable only by the roles granted it
-- (db/callback/afterMigrate.sql grants the sql tasks' role).
create function starpets_lock_fence(p_task text, p_fence bigint, p_run bigint)
    returns boolean
    language plpgsql
    security definer
    set search_path = ${flyway:defaultSchema}, pg_catalog, pg_temp
as $$
begin
    perform 1
       from tasks
      where name = p_task and fence = p_fence and current_run_id = p_run and owner_session is not null
        for share;
    return found;
end
$$;

revoke all on function starpets_lock_fence(text, bigint, bigint) from public;

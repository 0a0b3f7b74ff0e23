-- overlap ALLOW with max-concurrent (issue 21 item 6; docs/scheduler.md, "Several runs at once"): up to
-- max-concurrent runs of one task at once, across all instances, each with its own fence and lease.
-- For such a task the run row, not the task row, is the unit of ownership: the claim leaves the task
-- unowned (claimable for its next run), gives the run the task's next fence, and writes the owner,
-- session and lease on the run; renewal, the fenced commit, cancellation, recovery and the run's end
-- work on the run. Every other task is owned through its row exactly as before.

alter table tasks drop constraint tasks_overlap_check;
alter table tasks add constraint tasks_overlap_check check (overlap in ('SKIP', 'BUFFER_ONE', 'REPLACE', 'ALLOW'));
-- How many runs of an ALLOW task may be in progress at once; null for every other task.
alter table tasks add column max_concurrent integer check (max_concurrent between 1 and 1000);
alter table tasks add constraint tasks_allow_check check ((overlap = 'ALLOW') = (max_concurrent is not null));
-- The ALLOW task's runs owned now: raised by the claim that starts one, lowered by the trigger below when
-- a run's ownership ends (whichever statement ends it). The claim locks the task's row and checks this
-- against max_concurrent on the row's newest version, so two claims never both take the last place.
alter table tasks add column runs_owned integer not null default 0 check (runs_owned >= 0);

-- The ownership of a run of an ALLOW task, as tasks has it for the others (V1): set by its claim,
-- renewed by its instance's heartbeat, cleared by its end or its recovery. Null on every other run.
alter table task_runs add column owner_session bigint;
alter table task_runs add column lease_until timestamptz;
alter table task_runs add column owner_lock_seen_at timestamptz;
alter table task_runs add column cancel_requested boolean not null default false;
alter table task_runs add constraint task_runs_owner_check check ((owner_session is null) = (lease_until is null));
-- Housekeeping looks for ALLOW tasks whose schedule a claim set aside and nobody moved on (TaskHousekeeping).
create index tasks_allow_idx on tasks (id) where max_concurrent is not null;
-- Renewal and recovery look owned runs up by owner; only owned rows are in it.
create index task_runs_owner_idx on task_runs (owner_session) where owner_session is not null;

create function starpets_release_run()
    returns trigger
    language plpgsql
    set search_path = ${flyway:defaultSchema}, pg_catalog, pg_temp
as $$
begin
    update tasks set runs_owned = runs_owned - 1 where id = old.task_id and runs_owned > 0;
    return null;
end
$$;

create trigger task_runs_release
    after update of owner_session on task_runs
    for each row when (old.owner_session is not null and new.owner_session is null)
    execute function starpets_release_run();

-- An owned run deleted (with its task, or by hand) frees its place too; retention never deletes one.
create trigger task_runs_release_deleted
    after delete on task_runs
    for each row when (old.owner_session is not null)
    execute function starpets_release_run();

-- V13's fenced commit, also for a run that holds its own row: the run is still owned, with the fence its
-- claim gave it. A takeover (recovery) locks that row for update, so it waits for the commit, or the
-- commit finds the run no longer owned.
create or replace function starpets_lock_fence(p_task text, p_fence bigint, p_run bigint)
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
    if found then
        return true;
    end if;
    perform 1
       from task_runs
      where id = p_run and task_name = p_task and fence = p_fence and owner_session is not null
        for share;
    return found;
end
$$;

revoke all on function starpets_lock_fence(text, bigint, bigint) from public;

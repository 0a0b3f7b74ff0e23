-- Concurrency groups and rate limits (docs/scheduler.md, "Concurrency groups"). A task may name a group
-- (concurrency-group); a group may have a limit on the runs of its tasks at once (max-concurrent) and on
-- their starts per window (max-starts). Both limits are rows that a claim takes in the same statement as
-- the task, skipping rows another claim holds: one row per unit of a limit.
alter table tasks add column concurrency_group text;

create table task_groups (
    name             text        primary key,
    -- null: no limit of that kind
    max_concurrent   integer     check (max_concurrent >= 1),
    max_starts       integer     check (max_starts >= 1),
    starts_window_ms bigint      check (starts_window_ms >= 1),
    -- CONFIG (starpets.groups.<name>, set again at each start) or API (PUT /groups/{name})
    source           text        not null,
    updated_at       timestamptz not null default now(),
    updated_by       text        not null,
    check ((max_starts is null) = (starts_window_ms is null))
);

-- One row per unit of a group's max-concurrent: free while task_id is null, else held by that task's run
-- from its claim until its task is released (run end, stop, recovery of a dead instance's tasks).
create table group_slots (
    group_name text    not null references task_groups (name) on delete cascade,
    slot       integer not null,
    task_id    bigint  unique,
    primary key (group_name, slot)
);

-- One row per unit of a group's max-starts: a start takes a row free since free_at and sets it free again a
-- window later: never more than max-starts starts in any window.
create table group_starts (
    group_name text        not null references task_groups (name) on delete cascade,
    slot       integer     not null,
    free_at    timestamptz not null default '-infinity',
    primary key (group_name, slot)
);

-- A task released (owner_session cleared, in whichever statement does it) or deleted while owned frees
-- its slot in the same transaction: the slot is fenced exactly as the task's ownership is. While a
-- lowered limit leaves more slots than the limit, a freed slot is removed instead: the running runs end
-- and nobody is admitted until the group is under its limit. The group's row lock orders the ends of
-- its runs and the changes of its limit, so that two ends never both remove the last excess slot.
create function starpets_free_group_slot()
    returns trigger
    language plpgsql
    set search_path = ${flyway:defaultSchema}, pg_catalog, pg_temp
as $$
declare
    held group_slots%rowtype;
    lim  integer;
begin
    select * into held from group_slots where task_id = old.id;
    if not found then
        return null;
    end if;
    select max_concurrent into lim from task_groups where name = held.group_name for update;
    if (select count(*) from group_slots where group_name = held.group_name) > coalesce(lim, 0) then
        delete from group_slots where group_name = held.group_name and slot = held.slot;
    else
        update group_slots set task_id = null where group_name = held.group_name and slot = held.slot;
    end if;
    return null;
end
$$;

create trigger tasks_free_group_slot
    after update of owner_session on tasks
    for each row when (old.owner_session is not null and new.owner_session is null)
    execute function starpets_free_group_slot();

create trigger tasks_free_group_slot_deleted
    after delete on tasks
    for each row when (old.owner_session is not null)
    execute function starpets_free_group_slot();

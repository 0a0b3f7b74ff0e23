-- V22's release trigger ran at every release of every task, in a group or not (a plpgsql call and a
-- look-up of group_slots per run: docs/benchmarks-scheduler.md). It now runs only for a task that has
-- held a slot. Whether it has is marked by the database when a slot is taken, not by the claim, so a
-- claim of any version (an older instance during a rolling update) marks it. The mark stays once set:
-- a task that left its group while running keeps it, and its release still frees the slot (a test on
-- concurrency_group could not: a redefinition may clear it while the run holds the slot).
alter table tasks add column group_slot_taken boolean not null default false;

create function starpets_mark_group_slot_taken()
    returns trigger
    language plpgsql
    set search_path = ${flyway:defaultSchema}, pg_catalog, pg_temp
as $$
begin
    update tasks set group_slot_taken = true where id = new.task_id and not group_slot_taken;
    return null;
end
$$;

-- Fires at the end of the claim that took the slot: before any statement that could release the task.
create trigger group_slots_mark_taken
    after update of task_id on group_slots
    for each row when (new.task_id is not null)
    execute function starpets_mark_group_slot_taken();

-- Slots held now (the trigger above locks group_slots until this migration commits: no claim in between).
update tasks set group_slot_taken = true where id in (select task_id from group_slots where task_id is not null);

drop trigger tasks_free_group_slot on tasks;
drop trigger tasks_free_group_slot_deleted on tasks;

create trigger tasks_free_group_slot
    after update of owner_session on tasks
    for each row when (old.owner_session is not null and new.owner_session is null and old.group_slot_taken)
    execute function starpets_free_group_slot();

create trigger tasks_free_group_slot_deleted
    after delete on tasks
    for each row when (old.owner_session is not null and old.group_slot_taken)
    execute function starpets_free_group_slot();

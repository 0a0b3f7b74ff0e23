-- Issue 21 items 6 and 7: a slot that is skipped leaves a run row, and what a slot due while a run of
-- the task is in progress does.

-- MISSED: a slot of the schedule that did not run (misfire SKIP: no instance ran it within its
-- threshold, or the task was paused; or it came due while a run of the task was in progress). Its
-- scheduled_for is the slot, its error says why, started_at = finished_at = when it was recorded.
-- PENDING is a one-off run waiting for its time (issue 21 item 1): listed here too so that this
-- migration and V14 leave the same list whatever order they are merged in.
alter table task_runs drop constraint task_runs_status_check;
alter table task_runs add constraint task_runs_status_check
    check (status in ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'INTERRUPTED', 'LOST', 'CANCELLED', 'PENDING',
                      'MISSED'));

-- What a slot that comes due while a run of the task is in progress does: SKIP (nothing then: the run
-- goes on alone, and the misfire policy decides what becomes of the slot when it ends), BUFFER_ONE (one
-- run right after the run ends), REPLACE (the run in progress is cancelled; the new one starts once it
-- has ended). ALLOW (several runs at once) is not supported yet.
alter table tasks add column overlap text not null default 'SKIP' check (overlap in ('SKIP', 'BUFFER_ONE', 'REPLACE'));
-- Every heartbeat, every instance looks for REPLACE tasks whose run a slot came due during
-- (TaskHousekeeping.REPLACEABLE): only those rows.
create index tasks_replace_running_idx on tasks (id) where overlap = 'REPLACE' and owner_session is not null;

-- Run after (issue 22 item 5): a task may start each time a run of another task ends a given way.
-- The upstream is named (run_after_task), as configuration and the API name it; the way is SUCCEEDED,
-- FAILED or ANY. The downstream run is a PENDING task_runs row written in the statement (or transaction)
-- that writes the upstream run's end, carrying the upstream run's id and its scheduled_for.
alter table tasks add column run_after_task text;
alter table tasks add column run_after_when text
    check (run_after_when in ('SUCCEEDED', 'FAILED', 'ANY'));
alter table tasks add constraint tasks_run_after_check
    check ((run_after_task is null) = (run_after_when is null) and run_after_task is distinct from name);
-- A run's end looks up the tasks that run after its task.
create index tasks_run_after_idx on tasks (run_after_task) where run_after_task is not null;

-- The upstream run a run was started after (null: not started by run-after). Its retries and
-- recoveries keep it.
alter table task_runs add column upstream_run_id bigint;

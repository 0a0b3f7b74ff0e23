-- One-off runs and one-time tasks (issue 21 items 1 and 2).

-- A one-off run (POST /tasks/{name}/runs) is a task_runs row from the moment it is asked for: PENDING,
-- for its time (scheduled_for), with no instance, fence or start until a claim turns it into the
-- task's RUNNING run (TaskRepository.CLAIM). A cancelled pending run ends CANCELLED, never started.
alter table task_runs alter column instance_id drop not null;
alter table task_runs alter column fence drop not null;
alter table task_runs alter column started_at drop not null;
alter table task_runs drop constraint task_runs_check;
alter table task_runs add constraint task_runs_finished_check
    check ((status in ('RUNNING', 'PENDING')) = (finished_at is null));
alter table task_runs drop constraint task_runs_status_check;
alter table task_runs add constraint task_runs_status_check
    check (status in ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'INTERRUPTED', 'LOST', 'CANCELLED', 'PENDING'));
-- A one-off run's own params (the task's merged with the request's, as validated when asked for), who
-- asked, and the Idempotency-Key it was asked with (with the request as sent, to tell a retry from a
-- different request under the same key). Null on runs of the schedule.
alter table task_runs add column params jsonb;
alter table task_runs add column requested_by text;
alter table task_runs add column idempotency_key text;
alter table task_runs add column request jsonb;
create unique index task_runs_idempotency_idx on task_runs (task_id, idempotency_key)
    where idempotency_key is not null;
-- The claim, a run's end and a cancel look for a task's earliest pending run.
create index task_runs_pending_idx on task_runs (task_id, scheduled_for, id) where status = 'PENDING';

-- The earliest time among the task's pending one-off runs (null: none). The task's own schedule
-- (next_run_at) is left as it is: the claim takes whichever is due first.
alter table tasks add column next_request_at timestamptz;
-- A one-time task's time (schedule 'once'); null for every other task.
alter table tasks add column once_at timestamptz;

-- The claim and the share query order and test by the earlier of the two.
drop index tasks_due_idx;
create index tasks_due_idx on tasks (least(next_run_at, next_request_at))
    where owner_session is null and enabled and quarantined_at is null and retired_at is null;

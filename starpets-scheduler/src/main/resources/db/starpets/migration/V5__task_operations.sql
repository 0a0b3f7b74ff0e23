-- Tasks that do real work (issue 11) and are operated at runtime (issue 12).

-- Where a task comes from: the configuration files (the declared baseline, re-synced at every start)
-- or the management API. Configuration tasks can be paused, resumed, triggered and cancelled over the
-- API, not edited or deleted there.
alter table tasks add column source text not null default 'CONFIG' check (source in ('CONFIG', 'API'));
-- Grows with every change to what GET /tasks/{name} shows of the definition or its pause: the ETag.
alter table tasks add column version bigint not null default 1;

-- Retries of a failed or timed-out run: {"max-attempts", "initial-backoff-ms", "multiplier",
-- "max-backoff-ms"}; null: none.
alter table tasks add column retry jsonb;
-- Misfires: RUN_ONCE (a missed time runs once, late), SKIP (a time missed by more than the threshold
-- does not run; the next future one does), CATCH_UP (each missed time runs, at most catch_up_limit in
-- a row, those within catch_up_window_ms of now).
alter table tasks drop constraint tasks_misfire_policy_check;
alter table tasks add constraint tasks_misfire_policy_check check (misfire_policy in ('RUN_ONCE', 'SKIP', 'CATCH_UP'));
alter table tasks add column misfire_threshold_ms bigint not null default 60000;
alter table tasks add column catch_up_limit integer not null default 10;
alter table tasks add column catch_up_window_ms bigint not null default 3600000;
alter table tasks add column catch_ups integer not null default 0;
-- Up to this much random delay is added to each due time, to spread tasks due at the same second.
alter table tasks add column jitter_ms bigint not null default 0;
-- The schedule's own time for the next run (next_run_at adds jitter or a retry's back-off).
alter table tasks add column next_fire_at timestamptz;
-- Why the next run will start: SCHEDULE, RETRY, TRIGGER, RECOVERY (after its instance was lost), CATCH_UP.
alter table tasks add column next_cause text not null default 'SCHEDULE';
-- A trigger asked for while a run was in progress: runs again as soon as it ends.
alter table tasks add column trigger_queued boolean not null default false;
-- The run in progress should stop, recorded CANCELLED (its owner learns it by NOTIFY or heartbeat).
alter table tasks add column cancel_requested boolean not null default false;

-- Paused: no new run starts (one in progress goes on), until resumed or until paused_until.
alter table tasks add column paused_at timestamptz;
alter table tasks add column paused_until timestamptz;
alter table tasks add column pause_reason text;
-- Runs ended LOST in a row (a handler that kills its process hops from instance to instance, killing
-- each): quarantined past a threshold, until resumed or changed.
alter table tasks add column lost_streak integer not null default 0;
alter table tasks add column quarantined_at timestamptz;
-- A configuration task no live instance defines any more: disabled, not run for ever.
alter table tasks add column retired_at timestamptz;

drop index tasks_due_idx;
create index tasks_due_idx on tasks (next_run_at)
    where owner_session is null and enabled and quarantined_at is null and retired_at is null;

-- Every instance says which configuration tasks it defines (names), so that a task removed from the
-- configuration of every live instance can be told apart from a rolling deploy.
-- Null: an instance of an older version, which does not say (then nothing is retired).
alter table instances add column config_tasks text[];

-- Runs: why they started, what they said, how they ended (CANCELLED: stopped by an operator).
alter table task_runs add column cause text not null default 'SCHEDULE';
alter table task_runs add column output text;
alter table task_runs add column result jsonb;
alter table task_runs drop constraint task_runs_status_check;
alter table task_runs add constraint task_runs_status_check
    check (status in ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'INTERRUPTED', 'LOST', 'CANCELLED'));

-- The audit trail: every change to a task, by whom, before and after.
create table task_events (
    id         bigint      generated always as identity primary key,
    task_name  text        not null,
    at         timestamptz not null default now(),
    -- "operator:<token name>", "oidc:<subject>", "config:<instance>", "scheduler:<instance>"
    actor      text        not null,
    -- CREATED, UPDATED, DELETED, PAUSED, RESUMED, TRIGGERED, CANCELLED, QUARANTINED, RETIRED, SYNCED
    action     text        not null,
    before     jsonb,
    after      jsonb,
    detail     text
);
create index task_events_task_idx on task_events (task_name, id desc);

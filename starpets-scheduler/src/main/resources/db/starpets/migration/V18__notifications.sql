-- Per-task notifications (docs/notifications.md): what a task asks to be told of, and the outbox of
-- what is to be sent and what was sent. Filled by a periodic duty on every instance that scans what
-- happened; one row per event whatever the number of instances scanning (event_key is unique).

-- A task's notify settings. No row: the service-wide default (starpets.notify.*) applies.
create table task_notify (
    task_id   bigint  primary key references tasks (id) on delete cascade,
    -- the events asked for: FAILED, TIMED_OUT, STUCK, QUARANTINED, MISSED, RECOVERED; empty: none
    events    text[]  not null,
    -- the webhook as written: placeholders of task secrets are kept, never their value; null:
    -- the service-wide webhook (NOTIFY_WEBHOOK_URL)
    webhook   text,
    format    text    not null default 'json' check (format in ('json', 'slack')),
    -- 'CONFIG' or 'API': a task created over the API reaches only the destinations http tasks may
    from_api  boolean not null default false
);

create table notifications (
    id              bigint      generated always as identity primary key,
    -- event, then run:<run id> or task:<task id>:<when it happened>: one row per event
    event_key       text        not null unique,
    task_id         bigint      not null references tasks (id) on delete cascade,
    task_name       text        not null,
    event           text        not null,
    run_id          bigint,
    status          text,
    error           text,
    scheduled_for   timestamptz,
    instance_id     text,
    occurred_at     timestamptz not null,
    created_at      timestamptz not null default now(),
    state           text        not null default 'PENDING' check (state in ('PENDING', 'SENT', 'GIVEN_UP')),
    attempts        integer     not null default 0,
    next_attempt_at timestamptz not null default now(),
    sent_at         timestamptz,
    -- the last attempt's answer or error, secrets taken out
    last_error      text
);

create index notifications_due_idx on notifications (next_attempt_at) where state = 'PENDING';
create index notifications_task_idx on notifications (task_id, id desc);

-- Until when the scans have looked (each scan looks again a grace period before it: a run's end
-- commits a little after its finished_at). Starts at the migration: history is not notified.
create table notify_scan (
    id               integer     primary key check (id = 1),
    scanned_through  timestamptz not null
);
insert into notify_scan (id, scanned_through) values (1, now());

-- The scan reads runs that ended since the watermark.
create index task_runs_finished_idx on task_runs (finished_at) where finished_at is not null;

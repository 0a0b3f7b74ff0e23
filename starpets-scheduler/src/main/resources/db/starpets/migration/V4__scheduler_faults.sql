-- What the engine needs to keep "one live handler per task" under faults (issue 10).

-- When the owner's session lock was last seen held: set by the claim (which checks the claimer's
-- lock) and by every lease renewal (made on the connection that holds the lock). A missing lock
-- proves the owner's session ended only if it was seen after the server's current start
-- (pg_postmaster_start_time()): a server restart drops every lock, and then only the lease decides.
alter table tasks add column owner_lock_seen_at timestamptz;

-- The last claim of each task, by session and time: a short run that has already ended still counts
-- in its instance's share for a moment, so that instances take turns with short runs.
alter table tasks add column last_claimed_by bigint;
alter table tasks add column last_claimed_at timestamptz;

-- Set when the run in progress has been ended (timed out) while its handler is still executing:
-- the task stays owned, and is shown STUCK, until the handler returns.
alter table tasks add column stuck_since timestamptz;

-- Null: the schedule never fires again (the task is kept, and shown with no next run).
alter table tasks alter column next_run_at drop not null;

-- Instances are looked up by their session key (which tasks an instance runs, duplicate ids).
create index instances_session_key_idx on instances (session_key);

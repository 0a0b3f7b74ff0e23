-- The three statements every instance sends once a heartbeat (TaskCommands: expire pauses, retire
-- undefined configuration tasks, skip misfires) read the whole tasks table without these, so their
-- cost grew with tasks x instances (docs/benchmarks-cost.md). Each index holds only the rows its
-- statement can touch: pauses with an end, live configuration tasks, unowned SKIP tasks on schedule.
create index tasks_pause_end_idx on tasks (paused_until) where paused_until is not null;
create index tasks_config_live_idx on tasks (name) where source = 'CONFIG' and retired_at is null;
create index tasks_skip_due_idx on tasks (next_run_at)
    where misfire_policy = 'SKIP' and next_cause = 'SCHEDULE' and owner_session is null;

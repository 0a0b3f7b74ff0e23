-- Per-instance capacity (docs/scheduler.md, "Capacity"): a run uses its task's cost in units of its
-- instance's capacity (SCHEDULER_MAX_CONCURRENT_RUNS). Each instance's heartbeat writes its capacity
-- (0: unlimited) and the units its live handlers use, so that a full instance leaves its share of due
-- work to the others and the instance page shows used/capacity.
alter table tasks add column cost integer not null default 1 check (cost between 1 and 1000);
alter table instances add column capacity integer not null default 0;
alter table instances add column runs_used integer not null default 0;

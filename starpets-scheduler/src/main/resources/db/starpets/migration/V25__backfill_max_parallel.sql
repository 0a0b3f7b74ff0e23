-- A backfill of an overlap ALLOW task may run several of its slots at once (issue 21 item 5,
-- POST /tasks/{name}/backfill {"maxParallel": N}): at most max_parallel of its runs in progress, and never
-- more than the task's max-concurrent, started oldest slot first (OneOffRepository.START_DUE). Every
-- other task runs one run at a time, so its backfills keep 1.
alter table backfills add column max_parallel integer not null default 1 check (max_parallel >= 1);

-- A task's priority (docs/scheduler.md, "Priorities"): when an instance's capacity is short, its claim
-- takes due tasks by priority (higher first), then by due time; a task due longer ago than
-- SCHEDULER_PRIORITY_AGING goes ahead of every newer one. No index: the claim orders by it only among
-- the due rows it reads through tasks_due_idx.
alter table tasks add column priority integer not null default 0 check (priority between -100 and 100);

-- The trace of a run (docs/observability.md, "Tracing"): the W3C trace id (32 hex digits) of the run's
-- span, written when the run starts if tracing is on; null when it is off.
alter table task_runs add column trace_id text;

-- Issue 18: indexes for statements that read the whole table without them, the sync time that keeps a
-- new configuration task from being retired before its instance registers, and audit retention.

-- Every heartbeat writes the progress of its runs by run id (TaskRepository.PROGRESS).
create index tasks_current_run_idx on tasks (current_run_id) where current_run_id is not null;
-- Retention never deletes a task's last or current run (RunRepository's NOT_REFERENCED): one probe
-- per deleted run, by each of the two columns.
create index tasks_last_run_idx on tasks (last_run_id) where last_run_id is not null;
-- Retention of instances (InstanceRepository.DELETE_GONE): the longest GONE first, and whether a task
-- still names one as its owner.
create index instances_gone_idx on instances (heartbeat_at) where state = 'GONE';
create index tasks_owner_instance_idx on tasks (owner_instance) where owner_instance is not null;

-- Retention of the audit trail (prune-history's events-max-age): the oldest events first.
create index task_events_at_idx on task_events (at);

-- When a configuration sync last created or changed the task. An instance writes its definitions
-- before it registers what it defines (instances.config_tasks); until a lease after the sync, the
-- task is not retired as "defined by no live instance" (TaskCommands.RETIRE).
alter table tasks add column config_synced_at timestamptz;

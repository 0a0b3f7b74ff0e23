-- The share query, sent before every claim, counts tasks claimed a moment ago whose run has already
-- ended (TaskRepository.SHARE): with this index it reads only those, not the whole tasks table.
create index tasks_claimed_idx on tasks (last_claimed_at) where owner_session is null;

-- Recovery that keeps one live handler per task through the faults of issue 18.

-- Whether the instance can claim now: its claim loop came for a claim lately and its lease guard
-- would let a claimed run take steps. Written by every heartbeat; fair shares count only instances
-- that can, so that due work is never kept for one that will not take it (TaskRepository.SHARE).
-- True at registration: the claim loop starts right after it.
alter table instances add column claiming boolean not null default true;

-- Since when every advisory lock held now was taken, besides pg_postmaster_start_time(), which does
-- not move when the server reinitializes after a backend crash (every lock gone) nor when a standby
-- is promoted (no lock of the old primary exists there). Unlogged: crash recovery empties it, and it
-- is empty on a promoted standby; whoever finds it empty fills it with now() (TaskRepository.LOCK_MISSING).
-- A missing lock proves its owner's death only if it was seen held after this moment.
create unlogged table scheduler_epoch (
    id         integer     primary key check (id = 1),
    started_at timestamptz not null
);
-- No crash-restart or promotion has happened since now: locks seen held from now on count.
insert into scheduler_epoch (id, started_at) values (1, now());

-- Written, best effort, by a process just before it halts itself (a handler that ignores interruption
-- past its hold): true for the runs whose handler made it halt, false for the runs halted with them.
-- Quarantine counts the LOST of the first, never of the second (TaskRepository.RECOVER).
alter table task_runs add column halt_culprit boolean;

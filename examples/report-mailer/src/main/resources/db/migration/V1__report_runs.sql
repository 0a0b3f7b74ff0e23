-- The application's own table (in public, by its own Flyway): one row per report mailed, written by the
-- handler itself when it starts and when it ends.
create table report_runs (
    id          bigserial primary key,
    instance    text        not null,
    run_id      bigint      not null,
    started_at  timestamptz not null,
    ended_at    timestamptz
);

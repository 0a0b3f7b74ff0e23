-- The balance feature (A1): users and their balances.
-- Money is numeric(20,2): exact, two decimal places, never floating point.
-- The check constraint is the last line of defence of A3: no statement, whatever its author
-- intended, can leave a balance below zero.
create table users (
    id          bigint        primary key,
    balance     numeric(20,2) not null
                constraint users_balance_not_negative check (balance >= 0),
    created_at  timestamptz   not null default now(),
    updated_at  timestamptz   not null default now()
);

-- The one user of the assignment. Flyway runs this once per database under its own lock, and
-- "on conflict do nothing" keeps it a single row whatever else inserted user 1 first.
insert into users (id, balance) values (1, 10000.00) on conflict (id) do nothing;

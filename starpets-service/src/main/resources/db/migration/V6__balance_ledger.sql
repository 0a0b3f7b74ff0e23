-- The balance ledger and idempotency keys (issue 15). Written only by UserRepository.APPLY_BATCH,
-- in the same statement that changes users.balance, so the two never disagree:
-- users.balance = the starting balance (10000 for user 1, from V2) + sum(balance_changes.amount).

-- One row per applied change, in the order the changes were applied to the user's balance
-- (identity values are taken while the user's row is locked, so id order is application order).
-- user_id has no foreign key: the only writer inserts these rows in the statement that holds the
-- user's row locked, users are never deleted, and the key's per-row check cost about a third of
-- that statement's time (6.6 of 20 microseconds per change, measured with EXPLAIN ANALYZE).
create table balance_changes (
    id               bigint        generated always as identity primary key,
    user_id          bigint        not null,
    amount           numeric(20,2) not null check (amount <> 0),
    balance_after    numeric(20,2) not null check (balance_after >= 0),
    created_at       timestamptz   not null default now(),
    -- The client's Idempotency-Key, when it sent one (kept after the key itself expires).
    idempotency_key  text,
    instance_id      text          not null
);

-- GET /balance/{userId}/changes pages newest first.
create index balance_changes_user_idx on balance_changes (user_id, id desc);

-- The first answer to each Idempotency-Key, kept until expires_at and then pruned. The answer is
-- stored as the request it answered (user_id, amount) and what happened (outcome, balance_after):
-- a retry is answered from these by the same code that answered the first time.
create table balance_idempotency_keys (
    key            text          primary key check (length(key) between 1 and 255),
    user_id        bigint        not null,
    amount         numeric(20,2) not null,
    outcome        text          not null
                   check (outcome in ('applied', 'insufficient_funds', 'balance_limit_exceeded', 'user_not_found')),
    -- The balance right after this change; only for an applied one.
    balance_after  numeric(20,2) check ((outcome = 'applied') = (balance_after is not null)),
    created_at     timestamptz   not null default now(),
    expires_at     timestamptz   not null
);

-- The pruner deletes the oldest expired keys first, in bounded batches.
create index balance_idempotency_keys_expiry_idx on balance_idempotency_keys (expires_at);

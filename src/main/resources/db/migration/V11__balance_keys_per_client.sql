-- Idempotency keys belong to the caller that sent them (issue 19): one client can no longer take,
-- or read the answer under, another client's key. A key row is kept only for a user that exists.

-- Answers stored for users that do not exist: the statement no longer writes them (a retry for such a
-- user is refused again anyway), and the foreign key below needs them gone.
delete from balance_idempotency_keys k where not exists (select 1 from users u where u.id = k.user_id);

-- "client": who sent the key, as the security layer names the caller ("token:<name>", "oidc:<subject>").
-- Rows stored before this migration have '' (the balance API took no token then): a retry still finds
-- its first answer under such a row, whoever sends it, until the row expires (UserRepository.APPLY_BATCH).
alter table balance_idempotency_keys add column client text not null default '';
alter table balance_idempotency_keys alter column client drop default;
alter table balance_idempotency_keys drop constraint balance_idempotency_keys_pkey;
alter table balance_idempotency_keys add primary key (client, key);

-- The row that holds a key's answer goes with its user. The check is one index probe on a row the
-- writing statement already holds locked (for update), so it waits for nothing.
alter table balance_idempotency_keys
    add constraint balance_idempotency_keys_user_fk foreign key (user_id) references users (id) on delete cascade;

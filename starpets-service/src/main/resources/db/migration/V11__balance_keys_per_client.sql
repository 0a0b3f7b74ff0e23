-- Idempotency keys belong to the caller that sent them (issue 19): one client can no longer take,
-- or read the answer under, another client's key. A key row is kept only for a user that exists.

-- From now on a key is stored as "<client>" || chr(10) || "<the key the client sent>", the client as the
-- security layer names it ("token:<name>", "oidc:<subject>"): a key a client sends is printable ASCII
-- and never holds a newline, so two clients' keys never meet, and rows stored before (which hold no
-- newline) still answer their retries until they expire (UserRepository.APPLY_BATCH). Kept in the one
-- column, under the same primary key, so that instances of the older version keep working during a
-- rolling update.
alter table balance_idempotency_keys drop constraint balance_idempotency_keys_key_check;
alter table balance_idempotency_keys add constraint balance_idempotency_keys_key_check check (length(key) >= 1);

-- Answers stored for users that do not exist: the statement no longer writes them (a retry for such a
-- user is decided again), and the foreign key below needs them gone.
delete from balance_idempotency_keys k where not exists (select 1 from users u where u.id = k.user_id);

-- The row that holds a key's answer goes with its user. The check is one index probe on a row the
-- writing statement already holds locked (for update), so it waits for nothing.
alter table balance_idempotency_keys
    add constraint balance_idempotency_keys_user_fk foreign key (user_id) references users (id) on delete cascade;

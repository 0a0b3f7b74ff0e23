-- Ledger retention (issue 19): rows of balance_changes older than BALANCE_LEDGER_RETENTION are deleted
-- (balance.LedgerPruner), and what they added up to is carried here, per user, in the same transaction,
-- so that the ledger still explains every balance:
--   users.balance = the starting balance + balance_changes_pruned.amount + sum(balance_changes.amount).
create table balance_changes_pruned (
    user_id      bigint  primary key,
    -- The sum of the amounts of the pruned rows.
    amount       numeric not null,
    -- How many rows were pruned, and the highest id among them.
    changes      bigint  not null check (changes > 0),
    through_id   bigint  not null
);

-- pgbench script: one withdrawal of 2 from user 1 with its ledger row, in one statement: what the
-- service would send per request without combining (the same update as withdraw.sql, plus the
-- insert into balance_changes that every change now writes in the same transaction).
\set amount -2
with changed as (
    update users
       set balance = balance + :amount,
           updated_at = now()
     where id = 1
       and balance + :amount between 0 and 999999999999999999.99
 returning balance
),
ledger as (
    insert into balance_changes (user_id, amount, balance_after, instance_id)
    select 1, :amount, balance, 'pgbench' from changed
)
select (select balance from changed) as balance,
       exists (select 1 from users where id = 1) as user_exists;

-- pgbench script: the very statement UserRepository.change runs (withdraw 2 from user 1).
\set amount -2
with changed as (
    update users
       set balance = balance + :amount,
           updated_at = now()
     where id = 1
       and balance + :amount between 0 and 999999999999999999.99
 returning balance
)
select (select balance from changed) as balance,
       exists (select 1 from users where id = 1) as user_exists;

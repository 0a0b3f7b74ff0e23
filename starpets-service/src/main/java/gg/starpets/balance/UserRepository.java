package gg.starpets.balance;

import gg.starpets.balance.ChangeResult.Outcome;
import gg.starpets.config.StarPetsProperties;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.support.SqlArrayValue;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The {@code users} table, and the one statement that changes a balance: it also writes the ledger
 * ({@code balance_changes}) and the answers to idempotency keys, so all three change together or not at all.
 */
@Repository
class UserRepository {

    /**
     * A batch of changes of one user, applied in arrival order by one statement. The user's row is
     * locked once ({@code for update}: in READ COMMITTED it waits for, then reads, the newest committed
     * balance); {@code steps} walks the requests in order, each one applied only if the balance stays
     * within 0 … max, so each request gets exactly the outcome it would have had on its own; then one
     * update of the balance, one ledger row per applied request, and the answer of every keyed request.
     * Requests whose key was answered before (and has not expired) change nothing: their first answer
     * comes back in the last columns. A key is the caller's own: it matches only an answer stored for
     * the same client, or one stored before keys had clients (until it expires). Stored, a key is
     * {@code <client>\n<key>} (V11): a key a client sends never holds a newline, so no client's key can
     * be taken for another's, nor for one stored before (which has none). No answer
     * is stored for a user that does not exist. Callers of keyed batches hold the keys' advisory locks, taken
     * by {@link #TRY_LOCK_KEYS} in an earlier statement of the same transaction, so no other
     * transaction can be deciding one of those keys, and this statement's snapshot sees every
     * decision already made.
     */
    private static final String APPLY_BATCH = """
            with recursive
            requests as (
                select r.i::int as i, r.amount, r.idem_key, r.client || chr(10) || r.idem_key as stored_key
                  from unnest(:amounts::numeric[], :clients::text[], :keys::text[])
                       with ordinality as r(amount, client, idem_key, i)
            ),
            stored_answers as (
                select k.key, k.user_id, k.amount, k.outcome, k.balance_after
                  from balance_idempotency_keys k
                 where k.key = any(array(select stored_key from requests where stored_key is not null)
                                   || :keys::text[])
                   and k.expires_at > now()
            ),
            answered as (
                select distinct on (r.i) r.i, a.user_id, a.amount, a.outcome, a.balance_after
                  from requests r
                  join stored_answers a on a.key in (r.stored_key, r.idem_key)
                 order by r.i, a.key = r.stored_key desc
            ),
            fresh as (
                select r.i, r.amount, r.idem_key, r.stored_key, (row_number() over (order by r.i))::int as n
                  from requests r
                 where not exists (select 1 from answered a where a.i = r.i)
            ),
            fresh_amounts as materialized (
                select array_agg(amount order by n) as a from fresh
            ),
            locked as (
                select balance from users where id = :userId for update
            ),
            steps (n, balance, applied) as (
                select 0, (select balance from locked)::numeric, null::boolean
                union all
                select s.n + 1,
                       case when s.balance + f.a[s.n + 1] between 0 and :maxBalance
                            then s.balance + f.a[s.n + 1] else s.balance end,
                       s.balance + f.a[s.n + 1] between 0 and :maxBalance
                  from steps s, fresh_amounts f
                 where s.n < cardinality(f.a)
            ),
            decided as (
                select f.i, f.amount, f.idem_key, f.stored_key, coalesce(s.applied, false) as applied, s.balance
                  from fresh f
                  join steps s on s.n = f.n
            ),
            changed as (
                update users
                   set balance = balance + (select sum(amount) from decided where applied),
                       updated_at = now()
                 where id = :userId
                   and exists (select 1 from decided where applied)
            ),
            ledger as (
                insert into balance_changes (user_id, amount, balance_after, idempotency_key, instance_id)
                select :userId, d.amount, d.balance, d.idem_key, :instanceId
                  from decided d
                 where d.applied
                 order by d.i
            ),
            stored as (
                insert into balance_idempotency_keys as k
                       (key, user_id, amount, outcome, balance_after, expires_at)
                select d.stored_key, :userId, d.amount,
                       case when d.applied then 'applied'
                            when d.amount < 0 then 'insufficient_funds'
                            else 'balance_limit_exceeded' end,
                       case when d.applied then d.balance end,
                       now() + make_interval(secs => :ttlSeconds)
                  from decided d
                 where d.idem_key is not null
                   and exists (select 1 from locked)
                    on conflict (key) do update
                   set user_id = excluded.user_id, amount = excluded.amount, outcome = excluded.outcome,
                       balance_after = excluded.balance_after, created_at = now(), expires_at = excluded.expires_at
                 where k.expires_at <= now()
                returning key
            )
            select d.i, d.applied, d.balance, exists (select 1 from locked) as user_exists,
                   null::bigint as prior_user_id, null::numeric as prior_amount, null::text as prior_outcome,
                   null::numeric as prior_balance, (select count(*) from stored) as keys_stored
              from decided d
            union all
            select a.i, null, null, null, a.user_id, a.amount, a.outcome, a.balance_after, null
              from answered a
            """;

    /**
     * Takes the transaction-level advisory lock of each key (as stored: of its client), without
     * waiting: false means another transaction is deciding that key
     * right now. The two-int form (a 64-bit hash split in two) keeps
     * these locks apart from the scheduler's single-key session locks.
     */
    private static final String TRY_LOCK_KEYS = """
            select pg_try_advisory_xact_lock((h >> 32)::int, ((h << 32) >> 32)::int) as locked
              from (select t.i, hashtextextended(t.c || chr(10) || t.k, 0) as h
                      from unnest(:clients::text[], :keys::text[]) with ordinality as t(c, k, i)) keyed
             order by keyed.i
            """;

    /**
     * Taken in a statement of its own before the batch statement, so that the batch's snapshot is
     * taken once the row is ours and shows its last committed balance. Locked inside the batch
     * statement instead, a row changed by another batch after that statement's snapshot is read
     * through PostgreSQL's re-check of the new row version, and the statement's update could skip the
     * row while its ledger rows were written (found by a test: the balance drifted from the ledger).
     */
    private static final String LOCK_USER = """
            select 1 from users where id = :userId for update
            """;

    private static final String FIND_BALANCE = """
            select balance from users where id = :userId
            """;

    /**
     * One request of a batch: {@code key} is its Idempotency-Key, if it sent one, and {@code client}
     * who sent it (the key's scope; see security.Caller).
     */
    record Request(
            BigDecimal amount, String client, @Nullable String key) {

        Request {
            Objects.requireNonNull(client, "client");
        }
    }

    private final JdbcClient jdbc;
    private final TransactionTemplate transactions;
    private final String instanceId;
    private final long keyTtlSeconds;

    UserRepository(DataSource dataSource, BalanceSettings settings, StarPetsProperties properties) {
        this.jdbc = JdbcClient.create(dataSource);
        // Its own transaction manager: a keyed batch is the only transaction here, and it needs no other bean.
        this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
        this.instanceId = properties.resolvedInstanceId();
        this.keyTtlSeconds = settings.idempotencyKeyTtl().toSeconds();
    }

    /**
     * Applies the requests of one user in order and answers each, in the same order, in one
     * transaction: lock the keys (if any), lock the user's row, apply.
     */
    List<ChangeResult> applyBatch(long userId, List<Request> requests) {
        List<ChangeResult> results = transactions.execute(tx -> {
            if (requests.stream().allMatch(r -> r.key() == null)) {
                lockUser(userId);
                return apply(userId, requests);
            }
            // Keys first: their locks never wait, so a retry under a key in progress is answered at once
            // even while this transaction waits for the user's row.
            List<Boolean> locked = lockKeys(requests);
            if (locked.contains(true)) {
                lockUser(userId);
            }
            List<Request> decidable = new ArrayList<>();
            for (int i = 0; i < requests.size(); i++) {
                if (locked.get(i)) {
                    decidable.add(requests.get(i));
                }
            }
            List<ChangeResult> decided = apply(userId, decidable);
            List<ChangeResult> all = new ArrayList<>(requests.size());
            int next = 0;
            for (int i = 0; i < requests.size(); i++) {
                all.add(locked.get(i) ? decided.get(next++) : ChangeResult.of(Outcome.KEY_IN_PROGRESS));
            }
            return all;
        });
        return Objects.requireNonNull(results);
    }

    Optional<BigDecimal> findBalance(long userId) {
        return jdbc.sql(FIND_BALANCE)
                .param("userId", userId)
                .query(BigDecimal.class)
                .optional();
    }

    private List<ChangeResult> apply(long userId, List<Request> requests) {
        if (requests.isEmpty()) {
            return List.of();
        }
        ChangeResult[] results = new ChangeResult[requests.size()];
        long[] keysStored = {0};
        jdbc.sql(APPLY_BATCH)
                .param(
                        "amounts",
                        new SqlArrayValue(
                                "numeric",
                                requests.stream().map(Request::amount).toArray()))
                .param(
                        "clients",
                        new SqlArrayValue(
                                "text", requests.stream().map(Request::client).toArray()))
                .param(
                        "keys",
                        new SqlArrayValue(
                                "text", requests.stream().map(Request::key).toArray()))
                .param("userId", userId)
                .param("maxBalance", Money.MAX_BALANCE)
                .param("instanceId", instanceId)
                .param("ttlSeconds", keyTtlSeconds)
                .query(rs -> {
                    int i = rs.getInt("i") - 1;
                    Request request = requests.get(i);
                    long priorUser = rs.getLong("prior_user_id");
                    if (rs.wasNull()) {
                        keysStored[0] = rs.getLong("keys_stored");
                        results[i] = decided(
                                request,
                                rs.getBoolean("applied"),
                                rs.getBigDecimal("balance"),
                                rs.getBoolean("user_exists"));
                    } else {
                        results[i] = answered(
                                userId,
                                request,
                                priorUser,
                                rs.getBigDecimal("prior_amount"),
                                rs.getString("prior_outcome"),
                                rs.getBigDecimal("prior_balance"));
                    }
                });
        long keysDecided = 0;
        for (int i = 0; i < results.length; i++) {
            if (results[i] == null) {
                throw new IllegalStateException("the batch statement gave no answer to request " + i);
            }
            keysDecided += requests.get(i).key() != null
                            && !results[i].replayed()
                            && results[i].outcome() != Outcome.KEY_REUSED
                            && results[i].outcome() != Outcome.USER_NOT_FOUND
                    ? 1
                    : 0;
        }
        if (keysStored[0] != keysDecided) {
            // Cannot happen while the keys' locks are held; if it did, roll back rather than answer unrecorded.
            throw new IllegalStateException("stored " + keysStored[0] + " idempotency answers of " + keysDecided);
        }
        return List.of(results);
    }

    private static ChangeResult decided(Request request, boolean applied, BigDecimal balance, boolean userExists) {
        if (applied) {
            return new ChangeResult(Outcome.APPLIED, balance, false);
        }
        if (!userExists) {
            return ChangeResult.of(Outcome.USER_NOT_FOUND);
        }
        // A withdrawal can only fail for lack of funds, a top-up only for the upper limit.
        return ChangeResult.of(
                request.amount().signum() < 0 ? Outcome.INSUFFICIENT_FUNDS : Outcome.BALANCE_LIMIT_EXCEEDED);
    }

    /** The same key and body again: the first answer. The same key with another body: refused. */
    private static ChangeResult answered(
            long userId, Request request, long priorUser, BigDecimal priorAmount, String outcome, BigDecimal balance) {
        if (priorUser != userId || priorAmount.compareTo(request.amount()) != 0) {
            return ChangeResult.of(Outcome.KEY_REUSED);
        }
        return new ChangeResult(Outcome.ofStored(outcome), balance, true);
    }

    private void lockUser(long userId) {
        jdbc.sql(LOCK_USER).param("userId", userId).query(Integer.class).optional();
    }

    /** Per request, whether this transaction may decide it: true without a key, or with its key's lock. */
    private List<Boolean> lockKeys(List<Request> requests) {
        List<Request> keyed = requests.stream().filter(r -> r.key() != null).toList();
        List<Boolean> got = jdbc.sql(TRY_LOCK_KEYS)
                .param(
                        "clients",
                        new SqlArrayValue(
                                "text", keyed.stream().map(Request::client).toArray()))
                .param(
                        "keys",
                        new SqlArrayValue(
                                "text", keyed.stream().map(Request::key).toArray()))
                .query(Boolean.class)
                .list();
        List<Boolean> locked = new ArrayList<>(requests.size());
        int next = 0;
        for (Request request : requests) {
            locked.add(request.key() == null || got.get(next++));
        }
        return locked;
    }
}

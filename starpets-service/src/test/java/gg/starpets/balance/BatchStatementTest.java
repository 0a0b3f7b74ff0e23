package gg.starpets.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.balance.ChangeResult.Outcome;
import gg.starpets.balance.UserRepository.Request;
import gg.starpets.config.StarPetsProperties;
import gg.starpets.support.TestPostgres;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigDecimal;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The batch statement alone ({@link UserRepository#applyBatch}) on a real PostgreSQL. */
class BatchStatementTest {

    private static final AtomicLong USERS = new AtomicLong(100);
    /** Who sends the requests, as security.Caller names a caller. */
    private static final String CLIENT = "token:shop";

    private static HikariDataSource db;
    private static UserRepository users;
    private static BalanceSettings settings;

    @BeforeAll
    static void migrate() {
        db = TestPostgres.migratedDatabase(4);
        settings = new BalanceSettings(500, Duration.ofHours(24), Duration.ofMinutes(1), 1000, Duration.ZERO);
        users = new UserRepository(
                db, settings, new StarPetsProperties("instance-t", null, null, null, null, null, null));
    }

    @AfterAll
    static void close() {
        db.close();
    }

    @Test
    void aBatchIsAppliedInArrivalOrderAndEachChangeGetsTheOutcomeItWouldHaveHadAlone() {
        long user = newUser("10.00");
        List<ChangeResult> results =
                users.applyBatch(user, requests("-8", "-5", "-2", "3", "-5", "-1", "999999999999999999"));

        assertThat(results)
                .containsExactly(
                        applied("2.00"),
                        ChangeResult.of(Outcome.INSUFFICIENT_FUNDS),
                        applied("0.00"),
                        applied("3.00"),
                        ChangeResult.of(Outcome.INSUFFICIENT_FUNDS),
                        applied("2.00"),
                        ChangeResult.of(Outcome.BALANCE_LIMIT_EXCEEDED));
        List<Ledger.Row> rows = Ledger.assertBalanceIsStartPlusLedger(db, user, new BigDecimal("10.00"));
        assertThat(rows).extracting(r -> r.amount().toPlainString()).containsExactly("-8.00", "-2.00", "3.00", "-1.00");
        assertThat(rows).extracting(Ledger.Row::instanceId).containsOnly("instance-t");
        assertThat(rows).extracting(Ledger.Row::idempotencyKey).containsOnlyNulls();
    }

    @Test
    void aBatchForAnUnknownUserChangesNothingAndSaysSo() {
        assertThat(users.applyBatch(999_999, requests("-2", "5")))
                .containsExactly(ChangeResult.of(Outcome.USER_NOT_FOUND), ChangeResult.of(Outcome.USER_NOT_FOUND));
        assertThat(Ledger.rows(db, 999_999)).isEmpty();
    }

    @Test
    void aKeyGivesItsFirstAnswerAgainAndAnotherBodyUnderItIsRefused() {
        long user = newUser("10.00");
        long other = newUser("10.00");
        assertThat(users.applyBatch(user, List.of(new Request(money("-4"), CLIENT, "k-1"))))
                .containsExactly(applied("6.00"));
        users.applyBatch(user, requests("-1"));

        assertThat(users.applyBatch(
                        user,
                        List.of(new Request(money("-4.00"), CLIENT, "k-1"), new Request(money("-1"), CLIENT, null))))
                .containsExactly(new ChangeResult(Outcome.APPLIED, money("6.00"), true), applied("4.00"));
        assertThat(users.applyBatch(user, List.of(new Request(money("-3"), CLIENT, "k-1"))))
                .containsExactly(ChangeResult.of(Outcome.KEY_REUSED));
        assertThat(users.applyBatch(other, List.of(new Request(money("-4"), CLIENT, "k-1"))))
                .containsExactly(ChangeResult.of(Outcome.KEY_REUSED));

        List<Ledger.Row> rows = Ledger.assertBalanceIsStartPlusLedger(db, user, money("10"));
        assertThat(rows).extracting(Ledger.Row::idempotencyKey).containsExactly("k-1", null, null);
        assertThat(Ledger.rows(db, other)).isEmpty();
    }

    @Test
    void aRefusalUnderAKeyIsAnsweredAgainEvenOnceTheBalanceWouldSuffice() {
        long user = newUser("1.00");
        assertThat(users.applyBatch(user, List.of(new Request(money("-2"), CLIENT, "k-refused"))))
                .containsExactly(ChangeResult.of(Outcome.INSUFFICIENT_FUNDS));
        users.applyBatch(user, requests("5"));
        assertThat(users.applyBatch(user, List.of(new Request(money("-2"), CLIENT, "k-refused"))))
                .containsExactly(new ChangeResult(Outcome.INSUFFICIENT_FUNDS, null, true));
        Ledger.assertBalanceIsStartPlusLedger(db, user, money("1"));
    }

    @Test
    void aKeyedRequestForAUserThatDoesNotExistStoresNoKeyAndIsDecidedAgainEachTime() {
        for (int attempt = 0; attempt < 2; attempt++) {
            assertThat(users.applyBatch(999_998, List.of(new Request(money("-2"), CLIENT, "k-nobody"))))
                    .containsExactly(ChangeResult.of(Outcome.USER_NOT_FOUND));
        }
        assertThat(count("select count(*) from balance_idempotency_keys where key like '%k-nobody'"))
                .isZero();
        // Nor can one be stored by hand: a key row belongs to a user that exists.
        assertThatThrownBy(() -> execute("insert into balance_idempotency_keys"
                        + " (key, user_id, amount, outcome, expires_at) values"
                        + " ('k-forced', 999998, -2, 'insufficient_funds', now() + interval '1 hour')"))
                .hasStackTraceContaining("balance_idempotency_keys_user_fk");
    }

    @Test
    void aKeyIsItsClientsOwnAnotherClientUsingTheSameKeyIsNeitherRefusedNorGivenTheFirstAnswer() {
        long user = newUser("10.00");
        assertThat(users.applyBatch(user, List.of(new Request(money("-4"), "token:shop", "order-1"))))
                .containsExactly(applied("6.00"));
        // Another client, the same key, another body: its own change, not 422 (no squatting on a key),
        // and not the first client's answer (no reading it).
        assertThat(users.applyBatch(user, List.of(new Request(money("-1"), "token:other-shop", "order-1"))))
                .containsExactly(applied("5.00"));
        assertThat(users.applyBatch(user, List.of(new Request(money("-1"), "token:other-shop", "order-1"))))
                .containsExactly(new ChangeResult(Outcome.APPLIED, money("5.00"), true));
        assertThat(users.applyBatch(user, List.of(new Request(money("-4"), "token:shop", "order-1"))))
                .containsExactly(new ChangeResult(Outcome.APPLIED, money("6.00"), true));
        assertThat(users.applyBatch(user, List.of(new Request(money("-2"), "token:shop", "order-1"))))
                .containsExactly(ChangeResult.of(Outcome.KEY_REUSED));
        assertThat(strings("select replace(key, chr(10), ' ') from balance_idempotency_keys"
                        + " where key like '%order-1' order by 1"))
                .containsExactly("token:other-shop order-1", "token:shop order-1");
        Ledger.assertBalanceIsStartPlusLedger(db, user, money("10"));
    }

    @Test
    void aKeyStoredBeforeKeysHadClientsStillAnswersItsRetryUntilItExpires() {
        long user = newUser("10.00");
        // A key of the time the balance API took no token: the key alone, no client.
        execute("insert into balance_idempotency_keys (key, user_id, amount, outcome, balance_after,"
                + " expires_at) values ('k-legacy', " + user + ", -3, 'applied', 7.00, now() + interval '1 hour')");
        assertThat(users.applyBatch(user, List.of(new Request(money("-3"), CLIENT, "k-legacy"))))
                .containsExactly(new ChangeResult(Outcome.APPLIED, money("7.00"), true));
        assertThat(Ledger.balance(db, user)).isEqualByComparingTo("10.00");
        execute(
                "update balance_idempotency_keys set expires_at = now() - interval '1 second' where key like '%k-legacy'");
        assertThat(users.applyBatch(user, List.of(new Request(money("-3"), CLIENT, "k-legacy"))))
                .containsExactly(applied("7.00"));
    }

    @Test
    void aKeyAnotherTransactionIsDecidingIsInProgressAndChangesNothing() throws SQLException {
        long user = newUser("10.00");
        try (var other = db.getConnection()) {
            other.setAutoCommit(false);
            // The same lock a batch takes for this key of this client, held by an open transaction.
            try (var st =
                    other.prepareStatement("select pg_try_advisory_xact_lock((h >> 32)::int, ((h << 32) >> 32)::int)"
                            + " from (select hashtextextended(? || chr(10) || ?, 0) as h) k")) {
                st.setString(1, CLIENT);
                st.setString(2, "k-busy");
                try (var rs = st.executeQuery()) {
                    assertThat(rs.next() && rs.getBoolean(1)).isTrue();
                }
            }
            assertThat(users.applyBatch(
                            user,
                            List.of(
                                    new Request(money("-1"), CLIENT, "k-busy"),
                                    new Request(money("-2"), CLIENT, "k-free"))))
                    .containsExactly(ChangeResult.of(Outcome.KEY_IN_PROGRESS), applied("8.00"));
            other.commit();
        }
        assertThat(users.applyBatch(user, List.of(new Request(money("-1"), CLIENT, "k-busy"))))
                .containsExactly(applied("7.00"));
        Ledger.assertBalanceIsStartPlusLedger(db, user, money("10"));
    }

    @Test
    void anExpiredKeyIsIgnoredAndPrunedInBoundedBatchesWhileLiveKeysStay() throws SQLException {
        long user = newUser("100.00");
        users.applyBatch(
                user, List.of(new Request(money("-1"), CLIENT, "k-old"), new Request(money("-1"), CLIENT, "k-live")));
        execute("update balance_idempotency_keys set expires_at = now() - interval '1 second' where key like '%k-old'");
        // Past its expiry the key is new again: another body under it is applied, not refused.
        assertThat(users.applyBatch(user, List.of(new Request(money("-5"), CLIENT, "k-old"))))
                .containsExactly(applied("93.00"));
        assertThat(users.applyBatch(user, List.of(new Request(money("-5"), CLIENT, "k-old"))))
                .containsExactly(new ChangeResult(Outcome.APPLIED, money("93.00"), true));

        var pruner = new IdempotencyKeyPruner(
                new IdempotencyKeyRepository(db),
                new BalanceSettings(500, Duration.ofHours(24), Duration.ofMinutes(1), 1000, Duration.ZERO),
                new SimpleMeterRegistry());
        pruner.runOnce(); // what other tests of this class left expired
        execute("insert into balance_idempotency_keys (key, user_id, amount, outcome, expires_at)"
                + " select 'expired-' || g, 1, -1, 'insufficient_funds', now() - interval '1 hour'"
                + " from generate_series(1, 2500) g");
        assertThat(pruner.runOnce()).isEqualTo(2500);
        assertThat(count("select count(*) from balance_idempotency_keys where key like 'expired-%'"))
                .isZero();
        assertThat(count("select count(*) from balance_idempotency_keys where key like '%k-old' or key like '%k-live'"))
                .isEqualTo(2);
        assertThat(pruner.runOnce()).isZero();
        Ledger.assertBalanceIsStartPlusLedger(db, user, money("100"));
    }

    private static List<Request> requests(String... amounts) {
        List<Request> requests = new ArrayList<>();
        for (String amount : amounts) {
            requests.add(new Request(money(amount), CLIENT, null));
        }
        return requests;
    }

    private static ChangeResult applied(String balance) {
        return new ChangeResult(Outcome.APPLIED, new BigDecimal(balance), false);
    }

    private static BigDecimal money(String amount) {
        return new BigDecimal(amount).setScale(2);
    }

    /**
     * Batches of one user from many connections at once, each decided on the balance it locked: none
     * fails, none is lost, and the balance is the start plus the ledger. A batch statement that read
     * the row under its own lock but updated it through PostgreSQL's re-check of a concurrently updated
     * row (EvalPlanQual) skipped the update while writing the ledger: the balance drifted from the
     * ledger and later batches broke the balance's check constraint (a 500).
     */
    @Test
    @Timeout(120)
    void concurrentBatchesOfOneUserAreEachDecidedOnTheBalanceTheyLocked() throws Exception {
        int connections = 12;
        try (HikariDataSource wide = TestPostgres.migratedDatabase(connections);
                ExecutorService threads = Executors.newFixedThreadPool(connections)) {
            UserRepository many = new UserRepository(
                    wide, settings, new StarPetsProperties("instance-t", null, null, null, null, null, null));
            try (var c = wide.getConnection();
                    var st = c.createStatement()) {
                st.execute("insert into users (id, balance) values (900001, 5.00)");
            }
            List<Future<List<BigDecimal>>> answered = new ArrayList<>();
            for (int t = 0; t < connections; t++) {
                Random random = new Random(t);
                answered.add(threads.submit(() -> {
                    List<BigDecimal> balances = new ArrayList<>();
                    for (int b = 0; b < 120; b++) {
                        List<Request> batch = List.of(
                                new Request(BigDecimal.valueOf(-1 - random.nextInt(300), 2), CLIENT, null),
                                new Request(BigDecimal.valueOf(1 + random.nextInt(250), 2), CLIENT, null),
                                new Request(BigDecimal.valueOf(-1 - random.nextInt(300), 2), CLIENT, null));
                        for (ChangeResult result : many.applyBatch(900001, batch)) {
                            if (result.outcome() == Outcome.APPLIED) {
                                balances.add(result.balance());
                            }
                        }
                    }
                    return balances;
                }));
            }
            List<BigDecimal> balances = new ArrayList<>();
            for (Future<List<BigDecimal>> thread : answered) {
                balances.addAll(thread.get(100, TimeUnit.SECONDS));
            }
            List<Ledger.Row> ledger = Ledger.assertBalanceIsStartPlusLedger(wide, 900001, new BigDecimal("5.00"));
            assertThat(ledger).hasSize(balances.size());
            Ledger.assertAnswersMatchLedger(balances, ledger);
        }
    }

    private static long newUser(String balance) {
        long id = USERS.incrementAndGet();
        execute("insert into users (id, balance) values (" + id + ", " + balance + ")");
        return id;
    }

    private static void execute(String sql) {
        try (var c = db.getConnection();
                var st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> strings(String sql) {
        try (var c = db.getConnection();
                var st = c.createStatement();
                var rs = st.executeQuery(sql)) {
            List<String> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
            return rows;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long count(String sql) {
        try (var c = db.getConnection();
                var st = c.createStatement();
                var rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}

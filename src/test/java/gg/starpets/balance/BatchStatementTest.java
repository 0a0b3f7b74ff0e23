package gg.starpets.balance;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The batch statement alone ({@link UserRepository#applyBatch}) on a real PostgreSQL. */
class BatchStatementTest {

    private static final AtomicLong USERS = new AtomicLong(100);
    private static HikariDataSource db;
    private static UserRepository users;
    private static BalanceSettings settings;

    @BeforeAll
    static void migrate() {
        db = TestPostgres.migratedDatabase(4);
        settings = new BalanceSettings(500, Duration.ofHours(24), Duration.ofMinutes(1), 1000);
        users = new UserRepository(db, settings, new StarPetsProperties("instance-t", null, null, null, null, null));
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
        assertThat(users.applyBatch(user, List.of(new Request(money("-4"), "k-1"))))
                .containsExactly(applied("6.00"));
        users.applyBatch(user, requests("-1"));

        assertThat(users.applyBatch(user, List.of(new Request(money("-4.00"), "k-1"), new Request(money("-1"), null))))
                .containsExactly(new ChangeResult(Outcome.APPLIED, money("6.00"), true), applied("4.00"));
        assertThat(users.applyBatch(user, List.of(new Request(money("-3"), "k-1"))))
                .containsExactly(ChangeResult.of(Outcome.KEY_REUSED));
        assertThat(users.applyBatch(other, List.of(new Request(money("-4"), "k-1"))))
                .containsExactly(ChangeResult.of(Outcome.KEY_REUSED));

        List<Ledger.Row> rows = Ledger.assertBalanceIsStartPlusLedger(db, user, money("10"));
        assertThat(rows).extracting(Ledger.Row::idempotencyKey).containsExactly("k-1", null, null);
        assertThat(Ledger.rows(db, other)).isEmpty();
    }

    @Test
    void aRefusalUnderAKeyIsAnsweredAgainEvenOnceTheBalanceWouldSuffice() {
        long user = newUser("1.00");
        assertThat(users.applyBatch(user, List.of(new Request(money("-2"), "k-refused"))))
                .containsExactly(ChangeResult.of(Outcome.INSUFFICIENT_FUNDS));
        users.applyBatch(user, requests("5"));
        assertThat(users.applyBatch(user, List.of(new Request(money("-2"), "k-refused"))))
                .containsExactly(new ChangeResult(Outcome.INSUFFICIENT_FUNDS, null, true));
        assertThat(users.applyBatch(999_998, List.of(new Request(money("-2"), "k-nobody"))))
                .containsExactly(ChangeResult.of(Outcome.USER_NOT_FOUND));
        assertThat(users.applyBatch(999_998, List.of(new Request(money("-2"), "k-nobody"))))
                .containsExactly(new ChangeResult(Outcome.USER_NOT_FOUND, null, true));
        Ledger.assertBalanceIsStartPlusLedger(db, user, money("1"));
    }

    @Test
    void aKeyAnotherTransactionIsDecidingIsInProgressAndChangesNothing() throws SQLException {
        long user = newUser("10.00");
        try (var other = db.getConnection()) {
            other.setAutoCommit(false);
            // The same lock a batch takes for this key, held by an open transaction.
            try (var st =
                    other.prepareStatement("select pg_try_advisory_xact_lock((h >> 32)::int, ((h << 32) >> 32)::int)"
                            + " from (select hashtextextended(?, 0) as h) k")) {
                st.setString(1, "k-busy");
                try (var rs = st.executeQuery()) {
                    assertThat(rs.next() && rs.getBoolean(1)).isTrue();
                }
            }
            assertThat(users.applyBatch(
                            user, List.of(new Request(money("-1"), "k-busy"), new Request(money("-2"), "k-free"))))
                    .containsExactly(ChangeResult.of(Outcome.KEY_IN_PROGRESS), applied("8.00"));
            other.commit();
        }
        assertThat(users.applyBatch(user, List.of(new Request(money("-1"), "k-busy"))))
                .containsExactly(applied("7.00"));
        Ledger.assertBalanceIsStartPlusLedger(db, user, money("10"));
    }

    @Test
    void anExpiredKeyIsIgnoredAndPrunedInBoundedBatchesWhileLiveKeysStay() throws SQLException {
        long user = newUser("100.00");
        users.applyBatch(user, List.of(new Request(money("-1"), "k-old"), new Request(money("-1"), "k-live")));
        execute("update balance_idempotency_keys set expires_at = now() - interval '1 second' where key = 'k-old'");
        // Past its expiry the key is new again: another body under it is applied, not refused.
        assertThat(users.applyBatch(user, List.of(new Request(money("-5"), "k-old"))))
                .containsExactly(applied("93.00"));
        assertThat(users.applyBatch(user, List.of(new Request(money("-5"), "k-old"))))
                .containsExactly(new ChangeResult(Outcome.APPLIED, money("93.00"), true));

        execute("insert into balance_idempotency_keys (key, user_id, amount, outcome, expires_at)"
                + " select 'expired-' || g, 1, -1, 'insufficient_funds', now() - interval '1 hour'"
                + " from generate_series(1, 2500) g");
        var pruner = new IdempotencyKeyPruner(
                new IdempotencyKeyRepository(db),
                new BalanceSettings(500, Duration.ofHours(24), Duration.ofMinutes(1), 1000),
                new SimpleMeterRegistry());
        assertThat(pruner.runOnce()).isEqualTo(2500);
        assertThat(count("select count(*) from balance_idempotency_keys where key like 'expired-%'"))
                .isZero();
        assertThat(count("select count(*) from balance_idempotency_keys where key in ('k-old', 'k-live')"))
                .isEqualTo(2);
        assertThat(pruner.runOnce()).isZero();
        Ledger.assertBalanceIsStartPlusLedger(db, user, money("100"));
    }

    private static List<Request> requests(String... amounts) {
        List<Request> requests = new ArrayList<>();
        for (String amount : amounts) {
            requests.add(new Request(money(amount), null));
        }
        return requests;
    }

    private static ChangeResult applied(String balance) {
        return new ChangeResult(Outcome.APPLIED, new BigDecimal(balance), false);
    }

    private static BigDecimal money(String amount) {
        return new BigDecimal(amount).setScale(2);
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

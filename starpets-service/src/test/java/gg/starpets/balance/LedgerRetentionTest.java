package gg.starpets.balance;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.balance.UserRepository.Request;
import gg.starpets.config.StarPetsProperties;
import gg.starpets.support.TestPostgres;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigDecimal;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Ledger retention ({@link LedgerPruner}) on a real PostgreSQL: old rows go, the balance is still explained. */
class LedgerRetentionTest {

    private static final Duration RETENTION = Duration.ofDays(30);
    private HikariDataSource db;
    private UserRepository users;

    /** A database per test: pruning looks at the oldest rows of the whole ledger. */
    @BeforeEach
    void migrate() {
        db = TestPostgres.migratedDatabase(2);
        users = new UserRepository(
                db, settings(RETENTION, 7), new StarPetsProperties("instance-t", null, null, null, null, null, null));
    }

    @AfterEach
    void close() {
        db.close();
    }

    private static BalanceSettings settings(Duration retention, int batch) {
        return new BalanceSettings(500, Duration.ofHours(24), Duration.ofMinutes(1), batch, retention);
    }

    private LedgerPruner pruner(Duration retention, int batch) {
        return new LedgerPruner(new BalanceChangeRepository(db), settings(retention, batch), new SimpleMeterRegistry());
    }

    @Test
    void rowsPastTheRetentionArePrunedInBatchesAndTheirSumIsCarriedSoTheBalanceIsStillExplained() throws SQLException {
        execute("insert into users (id, balance) values (501, 100.00), (502, 100.00)");
        // First 9 changes of user 501 and 3 of user 502, made "31 days ago"; then 3 and 2 of today.
        users.applyBatch(501, changes(9));
        users.applyBatch(502, changes(3));
        execute("update balance_changes set created_at = now() - interval '31 days'");
        users.applyBatch(501, changes(3));
        users.applyBatch(502, changes(2));

        assertThat(pruner(RETENTION, 7).runOnce()).isEqualTo(12);

        assertThat(Ledger.rows(db, 501)).hasSize(3);
        assertThat(Ledger.rows(db, 502)).hasSize(2);
        assertThat(Ledger.pruned(db, 501)).isEqualByComparingTo("-9.00");
        Ledger.assertBalanceIsStartPlusLedger(db, 501, new BigDecimal("100.00"));
        Ledger.assertBalanceIsStartPlusLedger(db, 502, new BigDecimal("100.00"));
        assertThat(pruner(RETENTION, 7).runOnce()).isZero();

        // Pruned again later: the carried sum adds up.
        execute("update balance_changes set created_at = now() - interval '31 days' where user_id = 501");
        assertThat(pruner(RETENTION, 7).runOnce()).isEqualTo(3);
        assertThat(Ledger.pruned(db, 501)).isEqualByComparingTo("-12.00");
        Ledger.assertBalanceIsStartPlusLedger(db, 501, new BigDecimal("100.00"));
    }

    private static List<Request> changes(int count) {
        List<Request> changes = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            changes.add(new Request(new BigDecimal("-1.00"), "token:shop", null));
        }
        return changes;
    }

    @Test
    void aRetentionOfZeroKeepsTheLedgerForEver() throws SQLException {
        execute("insert into users (id, balance) values (503, 10.00)");
        users.applyBatch(503, List.of(new Request(new BigDecimal("-1.00"), "token:shop", null)));
        execute("update balance_changes set created_at = now() - interval '3650 days' where user_id = 503");
        assertThat(pruner(Duration.ZERO, 100).runOnce()).isZero();
        assertThat(Ledger.rows(db, 503)).hasSize(1);
    }

    private void execute(String sql) throws SQLException {
        try (var c = db.getConnection();
                var st = c.createStatement()) {
            st.execute(sql);
        }
    }
}

package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A JVM frozen between a lease renewal and its commit must not keep its tasks' rows locked for the
 * whole freeze: the server ends a session of the scheduler's pool idle inside a transaction after half
 * the lease, so the tasks' recovery elsewhere is not held up.
 */
class IdleInTransactionTest {

    /** A lease short enough for a quick test; the rule is the same for any lease. */
    private static final Duration LEASE = Duration.ofSeconds(2);

    @Test
    void aSessionIdleInsideItsTransactionLosesItsRowLocksAfterHalfTheLease() throws Exception {
        assertThat(DatabaseConfig.idleInTransaction(LEASE)).isEqualTo(Duration.ofSeconds(1));
        String database = TestPostgres.createDatabase();
        try (HikariDataSource admin = TestPostgres.pool(database, 2)) {
            try (Connection c = admin.getConnection();
                    var st = c.createStatement()) {
                st.execute("create table rows_to_lock (id int primary key); insert into rows_to_lock values (1);"
                        + " grant select, update on rows_to_lock to " + DatabaseRoles.SERVICE.user());
            }
            var endpoint = new DatabaseEndpoint(
                    TestPostgres.jdbcUrl(database),
                    DatabaseRoles.SERVICE,
                    DatabaseRoles.OWNER,
                    DatabaseRoles.SQL_TASKS,
                    () -> {},
                    "public");
            try (var pool = new HikariDataSource(DatabaseConfig.poolConfig(
                            endpoint, "test-pool", "test-frozen", DatabaseConfig.idleInTransaction(LEASE)));
                    Connection frozen = pool.getConnection()) {
                frozen.setAutoCommit(false);
                try (var st = frozen.createStatement()) {
                    st.execute("select id from rows_to_lock where id = 1 for update");
                }
                // From here on the "frozen" session sends nothing, as a stopped JVM would not.
                await().atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofMillis(100))
                        .until(() -> lockedAtOnce(admin));
                assertThatThrownBy(() -> {
                            try (var st = frozen.createStatement()) {
                                st.execute("select 1");
                            }
                        })
                        .isInstanceOf(SQLException.class);
            }
        }
    }

    @Test
    void anInstancesOwnSessionIdleInsideItsTransactionLosesItsRowLocksAfterHalfTheLeaseToo() throws Exception {
        // The heartbeat renews leases in a transaction on the primary session, not on the pool.
        String database = TestPostgres.createDatabase();
        try (HikariDataSource admin = TestPostgres.pool(database, 2)) {
            try (Connection c = admin.getConnection();
                    var st = c.createStatement()) {
                st.execute("create table rows_to_lock (id int primary key); insert into rows_to_lock values (1);"
                        + " grant select, update on rows_to_lock to " + DatabaseRoles.SERVICE.user());
            }
            var endpoint = new DatabaseEndpoint(
                    TestPostgres.jdbcUrl(database),
                    DatabaseRoles.SERVICE,
                    DatabaseRoles.OWNER,
                    DatabaseRoles.SQL_TASKS,
                    () -> {},
                    "public");
            try (Connection frozen = java.sql.DriverManager.getConnection(
                    endpoint.jdbcUrl(), SchedulerConfig.sessionProperties(endpoint, LEASE, "test-frozen-session"))) {
                frozen.setAutoCommit(false);
                try (var st = frozen.createStatement()) {
                    st.execute("select id from rows_to_lock where id = 1 for update");
                }
                assertThat(lockedAtOnce(admin))
                        .as("locked while the transaction is young")
                        .isFalse();
                // From here on the "frozen" session sends nothing, as a stopped JVM would not.
                await().atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofMillis(100))
                        .until(() -> lockedAtOnce(admin));
            }
        }
    }

    /** Whether another session can lock the row without waiting. */
    private static boolean lockedAtOnce(HikariDataSource admin) {
        try (Connection c = admin.getConnection();
                var st = c.createStatement()) {
            st.execute("select id from rows_to_lock where id = 1 for update nowait");
            return true;
        } catch (SQLException lockNotAvailable) {
            return false;
        }
    }
}

package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.support.TestPostgres;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Instances started together on a new database each run the grants after migrating
 * (db/starpets/callback/afterMigrate.sql), at the same moment: none of them may fail for it. Two GRANTs on one
 * object at once fail with "tuple concurrently updated" (an instance of the twin did not start so).
 */
class AfterMigrateTogetherTest {

    private static final int INSTANCES = 6;
    private static final int ROUNDS = 10;

    @Test
    void instancesGrantingTogetherAllSucceed() throws Exception {
        String database = TestPostgres.createDatabase();
        TestPostgres.migrateAsOwner(database);
        String grants = script();
        List<String> failures = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(INSTANCES);
        try {
            for (int round = 0; round < ROUNDS; round++) {
                try (Connection owner = asOwner(database);
                        Statement st = owner.createStatement()) {
                    // As before the first start: nothing granted yet.
                    st.execute("revoke all on all tables in schema public from starpets_app;"
                            + " revoke all on all sequences in schema public from starpets_app;"
                            + " revoke all on function starpets_lock_fence(text, bigint, bigint) from starpets_sql");
                }
                CountDownLatch go = new CountDownLatch(1);
                List<Future<?>> starts = new ArrayList<>();
                for (int i = 0; i < INSTANCES; i++) {
                    starts.add(pool.submit(() -> {
                        try (Connection c = asOwner(database);
                                Statement st = c.createStatement()) {
                            go.await();
                            st.execute(grants);
                        }
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> start : starts) {
                    try {
                        start.get(60, TimeUnit.SECONDS);
                    } catch (java.util.concurrent.ExecutionException e) {
                        failures.add(e.getCause().getMessage());
                    }
                }
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(failures).isEmpty();
        try (Connection owner = asOwner(database);
                Statement st = owner.createStatement();
                var rs = st.executeQuery("select has_table_privilege('starpets_app', 'tasks', 'update'),"
                        + " has_function_privilege('starpets_sql', 'starpets_lock_fence(text, bigint, bigint)',"
                        + " 'execute')")) {
            rs.next();
            assertThat(rs.getBoolean(1)).isTrue();
            assertThat(rs.getBoolean(2)).isTrue();
        }
    }

    /** The callback as Flyway runs it for an instance whose roles are the shipped ones. */
    private static String script() throws IOException {
        try (InputStream in =
                AfterMigrateTogetherTest.class.getResourceAsStream("/db/starpets/callback/afterMigrate.sql")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8)
                    .replace("${runtimeRole}", "starpets_app")
                    .replace("${sqlRole}", "starpets_sql")
                    .replace("${flyway:table}", "flyway_schema_history");
        }
    }

    private static Connection asOwner(String database) throws SQLException {
        return DriverManager.getConnection(TestPostgres.jdbcUrl(database), "starpets_owner", "");
    }
}

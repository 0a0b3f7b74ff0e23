package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TcpProxy;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A stopped sql run lets its task go only once its statement has ended on the server. Its handler
 * aborts the connection, but the server learns of that only when the close reaches it: behind a
 * partition, not before the partition ends. Were the end written meanwhile, the task could start
 * again beside the old statement. The statement goes through a proxy that the test partitions while
 * the engine's timeout stops the run; the scheduler reaches the database directly. Watched from
 * another session: no sample shows the run written ended while its statement is still on the server.
 */
class SqlRunEndTest {

    @Test
    void aStoppedStatementHasEndedOnTheServerBeforeItsRunIsWrittenEvenBehindAPartition() throws Exception {
        String database = TestPostgres.createDatabase();
        try (TcpProxy proxy = new TcpProxy(TestPostgres.port());
                HikariDataSource admin = TestPostgres.pool(database, 2)) {
            Map<String, Object> props = new HashMap<>(AppInstance.task(0, "slow-sql", "sql", "1h", "3s", null));
            props.put("starpets.tasks[0].params.statement", "select pg_sleep(60)");
            props.put("starpets.tasks[0].params.data-source", "behind-proxy");
            // The statement's own limit is far away: the engine's timeout (3 s) stops the run, not the server.
            props.put("starpets.tasks[0].params.timeout", "90s");
            String prefix = "starpets.handlers.sql-data-sources.behind-proxy.";
            props.put(prefix + "url", "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + database);
            props.put(prefix + "user", "postgres");
            props.put(prefix + "password", "postgres");
            props.put(prefix + "pool-size", 2);
            try (AppInstance app = AppInstance.start(database, "instance-sql-end", props);
                    Connection c = admin.getConnection();
                    Statement st = c.createStatement()) {
                long runId = await().atMost(Timing.SOON)
                        .pollInterval(Duration.ofMillis(20))
                        .until(() -> activeRun(st), id -> id > 0);
                String both = "select (select status from task_runs where id = " + runId + "),"
                        + " (select count(*) from pg_stat_activity where application_name = 'starpets-run-" + runId
                        + "'),"
                        + " (select now() > started_at + interval '4 s' from task_runs where id = " + runId + ")";
                List<String> beside = new ArrayList<>();

                proxy.partition();
                // Past the run's timeout, by the database's clock, the close held in the partition.
                await().atMost(Timing.SOON).pollInterval(Duration.ofMillis(5)).until(() -> {
                    Row row = sample(st, both, beside);
                    return row.pastTimeout();
                });
                proxy.resume();
                await().atMost(Timing.SOON).pollInterval(Duration.ofMillis(5)).until(() -> {
                    Row row = sample(st, both, beside);
                    return !row.status().equals("RUNNING") && row.sessions() == 0;
                });

                assertThat(beside)
                        .as("samples where run %d was written ended while its statement was still on the server", runId)
                        .isEmpty();
                assertThat(single(st, "select status from task_runs where id = " + runId))
                        .isEqualTo("TIMED_OUT");
            }
        }
    }

    private record Row(String status, long sessions, boolean pastTimeout) {}

    /** One look at the run's status and its sessions, in one statement; a look with both is noted. */
    private static Row sample(Statement st, String both, List<String> beside) throws SQLException {
        try (ResultSet rs = st.executeQuery(both)) {
            rs.next();
            Row row = new Row(rs.getString(1), rs.getLong(2), rs.getBoolean(3));
            if (!row.status().equals("RUNNING") && row.sessions() > 0) {
                beside.add(row.status() + " with " + row.sessions() + " session(s) at " + Instant.now());
            }
            return row;
        }
    }

    /** The id of the run whose statement the server is executing, 0 before there is one. */
    private static long activeRun(Statement st) throws SQLException {
        return Long.parseLong(single(
                st,
                "select coalesce(max(substring(application_name from 'starpets-run-([0-9]+)')::bigint), 0)"
                        + " from pg_stat_activity where application_name like 'starpets-run-%' and state = 'active'"));
    }

    private static String single(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}

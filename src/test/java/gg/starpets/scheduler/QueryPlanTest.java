package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The statements every instance sends once a heartbeat ({@link TaskHousekeeping}) and before every
 * claim (the share query) read indexes, not the whole tasks table: their cost must not grow with the
 * table (measured by bench/queries.sh). What breaks this test: dropping or
 * narrowing an index, or changing a statement's predicate so that its index no longer matches.
 */
class QueryPlanTest {

    private static HikariDataSource db;

    @BeforeAll
    static void fill() throws SQLException {
        db = TestPostgres.migratedDatabase(2);
        try (Connection c = db.getConnection();
                var st = c.createStatement()) {
            // 20,000 tasks, 20 from configuration, a third SKIP, none due, none paused: as in the benchmark.
            st.execute("""
                    insert into tasks (name, handler, schedule, timeout_seconds, next_run_at, source, misfire_policy)
                    select 'task-' || g, 'sleep', '1h', 60, now() + interval '1 hour' + (g % 600) * interval '1 second',
                           case when g % 1000 = 0 then 'CONFIG' else 'API' end,
                           case when g % 3 = 0 then 'SKIP' else 'RUN_ONCE' end
                      from generate_series(1, 20000) g
                    """);
            st.execute("analyze tasks");
        }
    }

    @AfterAll
    static void close() {
        db.close();
    }

    @Test
    void expiringPausesReadsThePauseEndIndex() throws SQLException {
        assertThat(plan(TaskCommands.EXPIRE_PAUSES, Map.of()))
                .as("plan")
                .anyMatch(line -> line.contains("tasks_pause_end_idx"))
                .noneMatch(line -> line.contains("Seq Scan on tasks"));
    }

    @Test
    void retiringUndefinedConfigurationTasksReadsOnlyLiveConfigurationTasks() throws SQLException {
        assertThat(plan(TaskCommands.RETIRE, Map.of("lease", 10_000L)))
                .as("plan")
                .anyMatch(line -> line.contains("tasks_config_live_idx"))
                .noneMatch(line -> line.contains("Seq Scan on tasks"));
    }

    @Test
    void skippingMisfiresReadsTheDueSkipTasksIndex() throws SQLException {
        assertThat(plan(TaskCommands.SKIPPABLE, Map.of()))
                .as("plan")
                .anyMatch(line -> line.contains("tasks_skip_due_idx"))
                .noneMatch(line -> line.contains("Seq Scan on tasks"));
    }

    @Test
    void theShareQueryReadsOnlyOwnedDueAndJustClaimedTasks() throws SQLException {
        assertThat(plan(
                        TaskRepository.SHARE,
                        Map.of("instance", "i-1", "lease", 10_000L, "key", 101L, "window", 5_000L)))
                .as("plan")
                .anyMatch(line -> line.contains("tasks_owner_idx"))
                .anyMatch(line -> line.contains("tasks_due_idx"))
                .anyMatch(line -> line.contains("tasks_claimed_idx"))
                .noneMatch(line -> line.contains("Seq Scan on tasks"));
    }

    private static List<String> plan(NamedSql sql, Map<String, Object> parameters) throws SQLException {
        try (Connection c = db.getConnection();
                var st = sql.explained().prepare(c)) {
            for (var p : parameters.entrySet()) {
                st.set(p.getKey(), p.getValue());
            }
            List<String> lines = new ArrayList<>();
            try (var rs = st.executeQuery()) {
                while (rs.next()) {
                    lines.add(rs.getString(1));
                }
            }
            return lines;
        }
    }
}

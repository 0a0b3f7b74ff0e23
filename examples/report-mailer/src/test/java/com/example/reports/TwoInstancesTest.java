package com.example.reports;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Two instances of the application (two Spring contexts) on one real PostgreSQL 17: the task runs again and
 * again, and never on both at once, judged by what the handler itself wrote in the application's own table
 * (each run's start and end, by the database's clock). The application's table and its own migration history
 * stay in public, untouched by StarPets, whose tables are all in schema starpets.
 */
class TwoInstancesTest {

    /** Runs to see: enough that both instances have claimed the task more than once. */
    static final int RUNS = 4;

    /**
     * A loaded 2-core machine starts two Spring contexts and PostgreSQL slowly; runs come every 2 s or so
     * (1 s of mailing, then 1 s of fixed delay).
     */
    static final Duration DEADLINE = Duration.ofMinutes(3);

    static EmbeddedPostgres postgres;

    @BeforeAll
    static void startPostgres() throws IOException {
        postgres = EmbeddedPostgres.builder().start();
    }

    @AfterAll
    static void stopPostgres() throws IOException {
        postgres.close();
    }

    @Test
    void theTaskRunsOnOneInstanceAtATimeAndLeavesTheApplicationsTableAlone() throws SQLException {
        DataSource admin = postgres.getPostgresDatabase();
        try (ConfigurableApplicationContext first = start("reports-1");
                ConfigurableApplicationContext second = start("reports-2")) {
            await().atMost(DEADLINE)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> finishedRuns(admin).size() >= RUNS);
        }
        List<Timestamp[]> runs = finishedRuns(admin);
        assertThat(runs).hasSizeGreaterThanOrEqualTo(RUNS);
        for (int i = 1; i < runs.size(); i++) {
            // Ordered by start: each run starts after the one before it ended.
            assertThat(runs.get(i)[0]).as("run %d starts after run %d ended", i, i - 1).isAfter(runs.get(i - 1)[1]);
        }
        // No run left open either: one that started and never ended would be an overlap unseen above.
        assertThat(count(admin, "select count(*) from report_runs where ended_at is null")).isZero();

        assertThat(tables(admin, "public")).containsExactlyInAnyOrder("report_runs", "flyway_schema_history");
        assertThat(count(admin, "select count(*) from public.flyway_schema_history where success"))
                .isEqualTo(1);
        assertThat(tables(admin, "starpets")).contains("tasks", "task_runs", "flyway_schema_history");
        assertThat(count(admin, "select count(*) from starpets.task_runs where status = 'SUCCEEDED'"))
                .isGreaterThanOrEqualTo(RUNS);
    }

    private static ConfigurableApplicationContext start(String instance) {
        // As arguments: they override application.yml, as the environment would in production.
        return new SpringApplicationBuilder(ReportMailerApplication.class)
                .web(WebApplicationType.NONE)
                .run(
                        "--spring.datasource.url=" + postgres.getJdbcUrl("postgres", "postgres"),
                        "--spring.datasource.username=postgres",
                        "--spring.datasource.password=postgres",
                        "--starpets.instance-id=" + instance,
                        "--report.schedule=1s",
                        "--report.mail-time=1s");
    }

    /** [start, end] of each run that ended, by start. */
    private static List<Timestamp[]> finishedRuns(DataSource db) throws SQLException {
        List<Timestamp[]> runs = new ArrayList<>();
        try (Connection c = db.getConnection();
                var rs = c.createStatement()
                        .executeQuery("select started_at, ended_at from public.report_runs"
                                + " where ended_at is not null order by started_at")) {
            while (rs.next()) {
                runs.add(new Timestamp[] {rs.getTimestamp(1), rs.getTimestamp(2)});
            }
        } catch (SQLException e) {
            return runs; // the application has not made its table yet
        }
        return runs;
    }

    private static long count(DataSource db, String sql) throws SQLException {
        try (Connection c = db.getConnection();
                var rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static List<String> tables(DataSource db, String schema) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Connection c = db.getConnection();
                var st = c.prepareStatement("select table_name from information_schema.tables where table_schema = ?")) {
            st.setString(1, schema);
            try (var rs = st.executeQuery()) {
                while (rs.next()) {
                    names.add(rs.getString(1));
                }
            }
        }
        return names;
    }
}

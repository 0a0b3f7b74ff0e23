package gg.starpets.tasks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.config.StarPetsProperties.Handlers.SqlDataSource;
import gg.starpets.scheduler.RunContext;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The sql handler on the embedded PostgreSQL: row counts, timeouts, cancel on interrupt, named data sources. */
class SqlHandlerTest {

    private static HikariDataSource database;
    private static String reportingDatabase;
    private static SqlDataSources dataSources;
    private static SqlHandler handler;

    @BeforeAll
    static void databases() {
        database = TestPostgres.migratedDatabase(4);
        reportingDatabase = TestPostgres.createDatabase();
        dataSources = new SqlDataSources(Map.of(
                "reporting", new SqlDataSource(TestPostgres.jdbcUrl(reportingDatabase), "postgres", "postgres", 2)));
        handler = new SqlHandler(database, dataSources.byName());
    }

    @AfterAll
    static void close() {
        dataSources.close();
        database.close();
    }

    @BeforeEach
    void items() {
        execute(
                database,
                "drop table if exists items; create table items (id int primary key, done boolean not null default false);"
                        + " insert into items (id) select generate_series(1, 5);"
                        + " create or replace procedure finish_all() language sql as $$ update items set done = true $$;");
        execute(dataSources.byName().get("reporting"), "create table if not exists exports (id int)");
    }

    private static void execute(DataSource ds, String sql) {
        try (Connection c = ds.getConnection();
                var st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long count(DataSource ds, String sql) {
        try (Connection c = ds.getConnection();
                var st = c.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static RunContext context(Map<String, Object> params, Duration timeout) {
        return RunContext.detached("refresh-stats", params, timeout);
    }

    private static RunContext run(Map<String, Object> params) throws Exception {
        handler.validate(params);
        RunContext context = context(params, Duration.ofMinutes(1));
        handler.run(context);
        return context;
    }

    @Test
    void aStatementIsCommittedAndItsRowCountKept() throws Exception {
        RunContext context = run(Map.of("statement", "update items set done = true where id <= 3"));

        assertThat(context.result()).containsEntry("rows", 3L);
        assertThat(context.output()).startsWith("3 row(s) in ");
        assertThat(count(database, "select count(*) from items where done")).isEqualTo(3);
    }

    @Test
    void aQueryCountsTheRowsItReturns() throws Exception {
        assertThat(run(Map.of("statement", "select id from items")).result()).containsEntry("rows", 5L);
    }

    @Test
    void aProcedureCanBeCalled() throws Exception {
        run(Map.of("statement", "call finish_all()"));

        assertThat(count(database, "select count(*) from items where done")).isEqualTo(5);
    }

    @Test
    void aStatementOverItsTimeoutIsCancelledAndRolledBack() {
        Map<String, Object> params =
                Map.of("statement", "insert into items (id) select 100 from pg_sleep(10)", "timeout", "300ms");

        assertThatThrownBy(() -> run(params))
                .isInstanceOf(RunFailedException.class)
                .hasMessageStartingWith("the statement was cancelled after its timeout of 300ms");
        assertThat(count(database, "select count(*) from items where id = 100")).isZero();
    }

    @Test
    void withoutItsOwnTimeoutTheStatementGetsTheTasksTimeout() {
        RunContext context = context(Map.of("statement", "select pg_sleep(10)"), Duration.ofMillis(400));

        assertThatThrownBy(() -> handler.run(context))
                .hasMessageStartingWith("the statement was cancelled after its timeout of 400ms");
    }

    @Test
    void anInterruptedRunCancelsItsStatementOnTheServerAndRollsBack() throws Exception {
        String statement = "insert into items (id) select 300 from pg_sleep(600)";
        BackgroundRun run = BackgroundRun.start(handler, context(Map.of("statement", statement), Duration.ofHours(1)));
        String running = "select count(*) from pg_stat_activity where state = 'active' and query = '"
                + statement.replace("'", "''") + "'";
        await().atMost(Timing.SOON).until(() -> count(database, running) == 1);

        run.interrupt();

        assertThat(run.outcome(Duration.ofSeconds(20))).isInstanceOf(InterruptedException.class);
        await().atMost(Timing.SOON).until(() -> count(database, running) == 0);
        assertThat(count(database, "select count(*) from items where id = 300")).isZero();
        // The pool's connections are sound afterwards.
        assertThat(run(Map.of("statement", "select 1")).result()).containsEntry("rows", 1L);
    }

    @Test
    void aStatementLongerThanTheConnectionsSocketTimeoutIsNotCutByIt() throws Exception {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(database.getJdbcUrl());
        config.setUsername("postgres");
        config.setPassword("postgres");
        // As the service's pool: a socket timeout, there of 30 s, here of 1 s.
        config.addDataSourceProperty("socketTimeout", "1");
        try (HikariDataSource shortSocket = new HikariDataSource(config)) {
            SqlHandler onShortSocket = new SqlHandler(shortSocket, Map.of());
            RunContext context = context(Map.of("statement", "select pg_sleep(2)"), Duration.ofSeconds(30));

            onShortSocket.run(context);

            assertThat(context.result()).containsEntry("rows", 1L);
        }
    }

    @Test
    void aNamedDataSourceIsUsedInsteadOfTheStarPetsDatabase() throws Exception {
        RunContext context =
                run(Map.of("statement", "insert into exports values (1), (2)", "data-source", "reporting"));

        assertThat(context.result()).containsEntry("rows", 2L);
        assertThat(count(dataSources.byName().get("reporting"), "select count(*) from exports"))
                .isEqualTo(2);
        assertThat(count(database, "select count(*) from information_schema.tables where table_name = 'exports'"))
                .isZero();
    }

    @Test
    void moreThanOneStatementIsRefusedAndNoneOfThemIsKept() {
        assertThatThrownBy(() ->
                        run(Map.of("statement", "insert into items values (200); insert into items values (201)")))
                .isInstanceOf(RunFailedException.class)
                .hasMessageContaining("must hold one statement, not several");
        assertThat(count(database, "select count(*) from items where id >= 200"))
                .isZero();
    }

    @Test
    void aStatementTheDatabaseRefusesFailsTheRunWithItsError() {
        assertThatThrownBy(() -> run(Map.of("statement", "select * from no_such_table")))
                .isInstanceOf(RunFailedException.class)
                .hasMessageContaining("the statement failed: ERROR: relation \"no_such_table\" does not exist");
    }

    @Test
    void paramsAreCheckedWhenTheTaskIsDefined() {
        assertThatThrownBy(() -> handler.validate(Map.of())).hasMessage("param 'statement' is required");
        assertThatThrownBy(() -> handler.validate(Map.of("statement", "select 1", "database", "x")))
                .hasMessage("unknown param 'database' (known: data-source, statement, timeout)");
        assertThatThrownBy(() -> handler.validate(Map.of("statement", "select 1", "data-source", "warehouse")))
                .hasMessage(
                        "param 'data-source': no data source named 'warehouse' is configured (configured: reporting)");
        assertThatThrownBy(() -> handler.validate(Map.of("statement", "select 1", "timeout", "0s")))
                .hasMessageStartingWith("param 'timeout' must be a positive duration");
        assertThat(handler.operatorOnly()).isTrue();
    }
}

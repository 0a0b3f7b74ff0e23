package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.config.SqlDataSources;
import gg.starpets.config.StarPetsProperties.Handlers.SqlDataSource;
import gg.starpets.scheduler.RunContext;
import gg.starpets.support.TcpProxy;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
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
    void scheduledForInAStatementIsTheTimeTheRunIsForAndStaysAsWrittenInQuotesAndComments() throws Exception {
        execute(database, "drop table if exists stamps; create table stamps (at timestamptz, note text)");
        Map<String, Object> params = Map.of(
                "statement",
                "insert into stamps (at, note) select :scheduled_for,"
                        + " ':scheduled_for' || $$ and :scheduled_for$$ || 1::text -- :scheduled_for");
        handler.validate(params);
        RunContext context =
                context(params, Duration.ofMinutes(1)).asScheduledFor(Instant.parse("2026-12-07T03:00:00.123456Z"));

        handler.run(context);

        assertThat(context.result()).containsEntry("rows", 1L);
        try (Connection c = database.getConnection();
                var st = c.createStatement();
                ResultSet rs = st.executeQuery("select at, note from stamps")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getObject("at", OffsetDateTime.class).toInstant())
                    .isEqualTo(Instant.parse("2026-12-07T03:00:00.123456Z"));
            assertThat(rs.getString("note")).isEqualTo(":scheduled_for and :scheduled_for1");
        }
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

    /** A context for run {@code runId} (fence 5) whose hold ends {@code hold} from now, less a margin of 500 ms. */
    private static RunContext held(Map<String, Object> params, long runId, Duration hold) {
        return RunContext.detached(
                "refresh-stats",
                params,
                Duration.ofMinutes(1),
                runId,
                5,
                System.nanoTime() + hold.toNanos(),
                Duration.ofMillis(500));
    }

    /** The task's row as its owner holds it while run {@code runId} is in progress with fence 5. */
    private static void owned(long runId) {
        execute(
                database,
                "delete from tasks; insert into tasks (name, handler, schedule, timeout_seconds, next_run_at,"
                        + " owner_instance, owner_session, lease_until, fence, current_run_id)"
                        + " values ('refresh-stats', 'sql', '1m', 60, now(), 'instance-1', 1, now() + interval '1 hour', 5, "
                        + runId + ")");
    }

    private static String sessionOf(long runId) {
        return "select count(*) from pg_stat_activity where application_name = 'starpets-run-" + runId + "'";
    }

    @Test
    void onTheStarPetsDatabaseARunWhoseFenceMovedBeforeItsCommitCommitsNothing() throws Exception {
        owned(77);
        Map<String, Object> params = Map.of("statement", "insert into items (id) select 500 from pg_sleep(1)");
        BackgroundRun run = BackgroundRun.start(handler, held(params, 77, Duration.ofHours(1)));
        await().atMost(Duration.ofSeconds(20)).until(() -> count(database, sessionOf(77)) == 1);

        // Taken over while the statement runs: recovery bumped the fence.
        execute(database, "update tasks set fence = 6");

        assertThat(run.outcome(Duration.ofSeconds(20)))
                .isInstanceOf(RunFailedException.class)
                .hasMessage("the task was taken over (its fence moved) before the statement could commit: nothing"
                        + " was committed");
        assertThat(count(database, "select count(*) from items where id = 500")).isZero();

        // The same run with its fence in place commits.
        owned(78);
        handler.run(held(Map.of("statement", "insert into items (id) values (501)"), 78, Duration.ofHours(1)));
        assertThat(count(database, "select count(*) from items where id = 501")).isEqualTo(1);
    }

    @Test
    void onAnotherDatabaseARunWhoseHoldEndedBeforeItsCommitCommitsNothing() throws Exception {
        // The hold, less its margin, ends a second from now; the statement takes 1.5 s.
        RunContext context = held(
                Map.of("statement", "insert into exports select 7 from pg_sleep(1.5)", "data-source", "reporting"),
                79,
                Duration.ofMillis(1500));

        assertThatThrownBy(() -> handler.run(context))
                .isInstanceOf(RunFailedException.class)
                .hasMessage("the run's hold ended before the statement could commit (another instance may start the"
                        + " task): nothing was committed");
        assertThat(count(dataSources.byName().get("reporting"), "select count(*) from exports where id = 7"))
                .isZero();
        // Past its hold, nothing is even sent.
        assertThatThrownBy(() -> handler.run(held(Map.of("statement", "select 1"), 80, Duration.ofMillis(400))))
                .isInstanceOf(InterruptedException.class);
    }

    @Test
    void fenceOffEndsEverySessionOfTheRunAndLeavesNone() throws Exception {
        for (Map<String, Object> where : List.<Map<String, Object>>of(Map.of(), Map.of("data-source", "reporting"))) {
            Map<String, Object> params = new HashMap<>(where);
            params.put("statement", "select pg_sleep(600)");
            DataSource source =
                    where.isEmpty() ? database : dataSources.byName().get("reporting");
            // A run whose JVM froze: its statement runs on, its thread takes no step.
            BackgroundRun frozen = BackgroundRun.start(handler, held(params, 81, Duration.ofHours(1)));
            await().atMost(Duration.ofSeconds(20)).until(() -> count(source, sessionOf(81)) == 1);

            assertThat(handler.fenceOff(81, params)).isTrue();

            assertThat(count(source, sessionOf(81))).isZero();
            assertThat(frozen.outcome(Duration.ofSeconds(20))).isInstanceOf(RunFailedException.class);
            assertThat(handler.fenceOff(81, params)).as("nothing left to end").isTrue();
        }
    }

    @Test
    void fenceOffLeavesASessionOfTheSameNameInAnotherDatabaseAlone() throws Exception {
        // Another deployment on the same server: its run 83 is another run, its session not this one's.
        Properties props = new Properties();
        props.setProperty("user", "postgres");
        props.setProperty("password", "postgres");
        props.setProperty("ApplicationName", "starpets-run-83");
        try (Connection elsewhere =
                DriverManager.getConnection(TestPostgres.jdbcUrl(TestPostgres.createDatabase()), props)) {
            assertThat(handler.fenceOff(83, Map.of())).isTrue();

            try (var st = elsewhere.createStatement();
                    var rs = st.executeQuery("select 1")) {
                assertThat(rs.next())
                        .as("the other database's session still answers")
                        .isTrue();
            }
        }
    }

    @Test
    void aStatementWhoseClientVanishedIsEndedByTheServer() throws Exception {
        try (TcpProxy network = new TcpProxy(TestPostgres.port());
                HikariDataSource throughProxy = poolThrough(network)) {
            SqlHandler onProxy = new SqlHandler(throughProxy, Map.of());
            BackgroundRun run = BackgroundRun.start(
                    onProxy, held(Map.of("statement", "select pg_sleep(600)"), 82, Duration.ofHours(1)));
            await().atMost(Duration.ofSeconds(20)).until(() -> count(database, sessionOf(82)) == 1);

            // As when its JVM is killed: the connection is gone, nothing more is sent on it.
            network.reset();

            await().atMost(SERVER_NOTICES).until(() -> count(database, sessionOf(82)) == 0);
            assertThat(run.outcome(Duration.ofSeconds(20))).isInstanceOf(RunFailedException.class);
        }
    }

    @Test
    void anInterruptedRunEndsItsStatementDuringAnOutageWithoutANewConnection() throws Exception {
        try (TcpProxy network = new TcpProxy(TestPostgres.port());
                HikariDataSource throughProxy = poolThrough(network)) {
            SqlHandler onProxy = new SqlHandler(throughProxy, Map.of());
            String statement = "insert into items (id) select 600 from pg_sleep(600)";
            BackgroundRun run =
                    BackgroundRun.start(onProxy, held(Map.of("statement", statement), 83, Duration.ofHours(1)));
            await().atMost(Duration.ofSeconds(20)).until(() -> count(database, sessionOf(83)) == 1);

            // Nothing gets through any more (a cancel request would need to), but a closed socket is seen.
            network.freeze();
            run.interrupt();

            assertThat(run.outcome(Duration.ofSeconds(5))).isInstanceOf(InterruptedException.class);
            await().atMost(SERVER_NOTICES).until(() -> count(database, sessionOf(83)) == 0);
            network.resume();
            assertThat(count(database, "select count(*) from items where id = 600"))
                    .isZero();
            // The aborted connection was not handed out again.
            onProxy.run(context(Map.of("statement", "select 1"), Duration.ofSeconds(30)));
        }
    }

    /**
     * How long the server may take to end a statement whose client is gone: its check every second
     * ({@link SqlHandler#CLIENT_CHECK}), with room for a loaded 2-core machine; far below the 600 s of
     * the statement it ends.
     */
    private static final Duration SERVER_NOTICES = Duration.ofSeconds(8);

    private static HikariDataSource poolThrough(TcpProxy network) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(database.getJdbcUrl().replace(":" + TestPostgres.port() + "/", ":" + network.port() + "/"));
        config.setUsername("postgres");
        config.setPassword("postgres");
        config.setMaximumPoolSize(2);
        return new HikariDataSource(config);
    }
}

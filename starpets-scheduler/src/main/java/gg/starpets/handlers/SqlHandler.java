package gg.starpets.handlers;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.TaskHandler;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;

/**
 * {@code sql}: runs one statement (or {@code call procedure(...)}) on the StarPets database or on a
 * named extra data source, in a transaction whose {@code statement_timeout} is the task's timeout
 * (or param {@code timeout}); commits when it succeeds, and only while the run holds its task. The row
 * count (rows changed, or returned) goes into the run's result. {@code :scheduled_for} in the
 * statement is the time the run is for ({@link RunContext#scheduledFor()}, a {@code timestamptz};
 * {@link ScheduledForParameter}). Runs what an operator writes: operator-only.
 *
 * <p>No statement of a run outlives the run's hold where it matters:
 * <ul>
 *   <li>its session is named {@code starpets-run-<run id>} ({@code application_name}) for the
 *       transaction, before anything else is sent; {@link #fenceOff} ends every session so named
 *       ({@code pg_terminate_backend}) before recovery lets the task start elsewhere (a frozen JVM);
 *   <li>the server checks the client's socket every second during the statement
 *       ({@code client_connection_check_interval}) and cancels it once the JVM is gone (killed), or
 *       once this process closed the socket: an interrupted run aborts its connection, which needs no
 *       new connection (a cancel request does: impossible during an outage);
 *   <li>a session idle inside the transaction (a JVM frozen between two of its statements) is ended
 *       by the server after {@link #IDLE_IN_TRANSACTION};
 *   <li>the commit: on the StarPets database, the task's row is locked in the same transaction right
 *       before the commit, only if the run still holds its fence ({@link RunContext#lockFence});
 *       on an extra data source (another database, which cannot see the tasks table), only while the
 *       run's hold, less its margin, is still ahead — checked, then committed: not atomic.
 * </ul>
 */
public final class SqlHandler implements TaskHandler {

    static final Set<String> PARAMS = Set.of("statement", "data-source", "timeout");
    /** Beyond the statement's own timeout, how long a silent connection is waited for before it is dropped. */
    private static final Duration NETWORK_MARGIN = Duration.ofSeconds(30);
    /** How often the server looks at the client's socket while a statement runs. */
    static final Duration CLIENT_CHECK = Duration.ofSeconds(1);
    /**
     * A session idle inside the transaction this long is ended by the server: far longer than the
     * moments between this handler's own statements, short enough that a frozen JVM's row locks (its
     * statement's, and the task row's before the commit) go long before the lease runs out.
     */
    static final Duration IDLE_IN_TRANSACTION = Duration.ofSeconds(2);
    /** How long {@link #fenceOff} waits for each session it ends to be gone. */
    private static final Duration TERMINATE_WAIT = Duration.ofSeconds(1);

    private static final String MARK = """
            select set_config('application_name', ?, true), set_config('statement_timeout', ?, true),
                   set_config('client_connection_check_interval', ?, true),
                   set_config('idle_in_transaction_session_timeout', ?, true)
            """;
    // The sessions first, then the signal: a filter would not be sure to be evaluated before it. Only
    // in this database: run ids are per database, and another one on the server (another deployment,
    // another test) has runs of the same ids.
    private static final String TERMINATE = """
            with run as materialized (
                select pid from pg_stat_activity
                 where application_name = ? and datname = current_database() and pid <> pg_backend_pid()
            )
            select count(*) filter (where not pg_terminate_backend(pid, ?)) from run
            """;
    private static final String REMAINING = "select count(*) from pg_stat_activity"
            + " where application_name = ? and datname = current_database() and pid <> pg_backend_pid()";

    private final DataSource database;
    private final DataSource control;
    private final Map<String, DataSource> dataSources;
    private final String starPetsSchema;

    /**
     * @param database the StarPets database (its pool)
     * @param dataSources the named extra data sources, for param {@code data-source}
     */
    public SqlHandler(DataSource database, Map<String, DataSource> dataSources) {
        this(database, database, dataSources);
    }

    /**
     * @param control another pool on the StarPets database for {@link #fenceOff}, so that recovery does
     *     not wait behind requests holding {@code database}'s connections (the scheduler's own pool)
     */
    public SqlHandler(DataSource database, DataSource control, Map<String, DataSource> dataSources) {
        this(database, control, dataSources, null);
    }

    /**
     * @param starPetsSchema the schema of StarPets' tables and of the fenced commit's function, which the
     *     search_path of {@code database}'s connections (the sql tasks' own) does not name; null: it does
     */
    public SqlHandler(
            DataSource database, DataSource control, Map<String, DataSource> dataSources, String starPetsSchema) {
        this.database = database;
        this.control = control;
        this.dataSources = Map.copyOf(dataSources);
        this.starPetsSchema = starPetsSchema;
    }

    @Override
    public boolean operatorOnly() {
        return true;
    }

    @Override
    public void validate(Map<String, Object> params) {
        HandlerParams.allowOnly(params, PARAMS);
        HandlerParams.requiredString(params, "statement");
        HandlerParams.duration(params, "timeout");
        dataSource(params);
    }

    /** The name a run's session carries while the run's transaction is open. */
    static String sessionName(long runId) {
        return "starpets-run-" + runId;
    }

    @Override
    public void run(RunContext context) throws Exception {
        validate(context.params());
        String sql = HandlerParams.requiredString(context.params(), "statement");
        Duration param = HandlerParams.duration(context.params(), "timeout");
        Duration timeout = param == null ? context.timeout() : param;
        DataSource source = dataSource(context.params());
        if (!context.mayContinue()) {
            throw new InterruptedException("run " + context.runId() + " of " + context.taskName() + " was stopped");
        }
        long start = System.nanoTime();
        Connection c = source.getConnection();
        boolean aborted = false;
        try {
            // A long statement sends nothing for a while: the connection's own socket timeout must not cut it.
            c.setNetworkTimeout(Runnable::run, (int)
                    Math.min(Integer.MAX_VALUE, timeout.plus(NETWORK_MARGIN).toMillis()));
            c.setAutoCommit(false);
            long rows;
            try {
                mark(c, context, timeout);
                // Marked first: a JVM that froze from here on is fenced off by name. Frozen before, it
                // finds its hold over when it wakes, and sends nothing.
                if (!holdAhead(context)) {
                    throw new RunFailedException("the run's hold ended before the statement was sent: nothing ran");
                }
                try (Statement st = c.createStatement()) {
                    rows = execute(c, st, ScheduledForParameter.bind(sql, context.scheduledFor()), context);
                }
                commitUnderFence(c, context, source == database);
            } catch (InterruptedException e) {
                aborted = true;
                throw e;
            } catch (SQLException e) {
                rollbackQuietly(c);
                if ("57014".equals(e.getSQLState())) {
                    throw new RunFailedException(
                            "the statement was cancelled after its timeout of " + HandlerParams.text(timeout) + ": "
                                    + e.getMessage(),
                            e);
                }
                throw new RunFailedException("the statement failed: " + e.getMessage(), e);
            } catch (RunFailedException e) {
                rollbackQuietly(c);
                throw e;
            }
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            context.result("rows", rows);
            context.result("durationMs", millis);
            context.output(rows + " row(s) in " + millis + " ms");
        } finally {
            release(source, c, aborted);
        }
    }

    /** Names the session for the transaction and sets its limits, in one round trip. */
    private static void mark(Connection c, RunContext context, Duration timeout) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(MARK)) {
            st.setString(1, sessionName(context.runId()));
            st.setString(2, Long.toString(Math.max(1, timeout.toMillis())));
            st.setString(3, Long.toString(CLIENT_CHECK.toMillis()));
            st.setString(4, Long.toString(IDLE_IN_TRANSACTION.toMillis()));
            st.executeQuery().close();
        }
    }

    /** Whether the run's hold, less its margin, is still ahead (always, for a context with no hold). */
    private static boolean holdAhead(RunContext context) {
        long holdEnd = context.holdEndNanos();
        return holdEnd == Long.MAX_VALUE
                || System.nanoTime() < holdEnd - context.holdMargin().toNanos();
    }

    /** Commits, or rolls back and fails the run when it no longer holds its task. */
    private void commitUnderFence(Connection c, RunContext context, boolean starPetsDatabase)
            throws SQLException, RunFailedException {
        if (starPetsDatabase) {
            if (!context.lockFence(c, starPetsSchema)) {
                throw new RunFailedException(
                        "the task was taken over (its fence moved) before the statement could commit: nothing was"
                                + " committed");
            }
        } else if (!holdAhead(context)) {
            throw new RunFailedException("the run's hold ended before the statement could commit (another instance"
                    + " may start the task): nothing was committed");
        }
        c.commit();
    }

    /**
     * Runs the statement on a thread of its own, so that this thread can be interrupted: it then aborts
     * the connection (closes its socket), which the server notices within {@link #CLIENT_CHECK} and
     * rolls back. A cancel request would need a new connection, which an outage does not give.
     */
    private static long execute(Connection c, Statement st, String sql, RunContext context)
            throws SQLException, InterruptedException {
        CompletableFuture<Long> done = new CompletableFuture<>();
        Thread.ofVirtual().name("starpets-sql-" + context.runId()).start(() -> {
            try {
                done.complete(count(st, sql));
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        });
        try {
            return done.get();
        } catch (InterruptedException e) {
            c.abort(Runnable::run);
            throw e;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SQLException sql2) {
                throw sql2;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Rows changed, or returned; refuses more than one statement (they ran, but are rolled back). */
    private static long count(Statement st, String sql) throws SQLException {
        long rows;
        if (st.execute(sql)) {
            rows = 0;
            try (ResultSet rs = st.getResultSet()) {
                while (rs.next()) {
                    rows++;
                }
            }
        } else {
            rows = Math.max(0, st.getLargeUpdateCount());
        }
        if (st.getMoreResults() || st.getLargeUpdateCount() != -1) {
            throw new SQLException("param 'statement' must hold one statement, not several", "42601");
        }
        return rows;
    }

    /**
     * Ends every session of run {@code runId} still open on the run's data source (a statement whose
     * JVM froze or lost the network); true only when none is left. Needs the right to signal those
     * sessions: the same database user (as the pool's), or {@code pg_signal_backend}.
     */
    @Override
    public boolean fenceOff(long runId, Map<String, Object> params) throws SQLException {
        DataSource source = dataSource(params);
        try (Connection c = (source == database ? control : source).getConnection()) {
            try (PreparedStatement st = c.prepareStatement(TERMINATE)) {
                st.setString(1, sessionName(runId));
                st.setLong(2, TERMINATE_WAIT.toMillis());
                st.executeQuery().close();
            }
            try (PreparedStatement st = c.prepareStatement(REMAINING)) {
                st.setString(1, sessionName(runId));
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    return rs.getLong(1) == 0;
                }
            }
        }
    }

    private DataSource dataSource(Map<String, Object> params) {
        String name = HandlerParams.string(params, "data-source");
        if (name == null) {
            return database;
        }
        DataSource named = dataSources.get(name);
        if (named == null) {
            throw new IllegalArgumentException("param 'data-source': no data source named '" + name + "' is configured"
                    + " (configured: " + String.join(", ", new TreeSet<>(dataSources.keySet())) + ")");
        }
        return named;
    }

    /** Back to its pool; an aborted connection is evicted from it, never handed out again. */
    private static void release(DataSource source, Connection c, boolean aborted) throws SQLException {
        if (aborted && source.isWrapperFor(HikariDataSource.class)) {
            source.unwrap(HikariDataSource.class).evictConnection(c);
            return;
        }
        try {
            c.close();
        } catch (SQLException e) {
            if (!aborted) {
                throw e;
            }
        }
    }

    private static void rollbackQuietly(Connection c) {
        try {
            if (!c.isClosed()) {
                c.rollback();
            }
        } catch (SQLException e) {
            // The connection is broken: the server rolls the transaction back when it notices.
        }
    }
}

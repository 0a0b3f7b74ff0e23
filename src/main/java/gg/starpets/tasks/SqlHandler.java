package gg.starpets.tasks;

import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.TaskHandler;
import java.sql.Connection;
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
import java.util.concurrent.TimeoutException;
import javax.sql.DataSource;

/**
 * {@code sql}: runs one statement (or {@code call procedure(...)}) on the StarPets database or on a
 * named extra data source, in a transaction whose {@code statement_timeout} is the task's timeout
 * (or param {@code timeout}); commits when it succeeds. The row count (rows changed, or returned)
 * goes into the run's result. An interrupted run cancels the statement on the server
 * ({@link Statement#cancel()}) and rolls back. Runs what an operator writes: operator-only.
 */
public final class SqlHandler implements TaskHandler {

    static final Set<String> PARAMS = Set.of("statement", "data-source", "timeout");
    /** Beyond the statement's own timeout, how long a silent connection is waited for before it is dropped. */
    private static final Duration NETWORK_MARGIN = Duration.ofSeconds(30);
    /** After a cancel, how long the statement may take to give up before its connection is aborted. */
    private static final Duration CANCEL_WAIT = Duration.ofSeconds(10);

    private final DataSource database;
    private final Map<String, DataSource> dataSources;

    /**
     * @param database the StarPets database (its pool)
     * @param dataSources the named extra data sources, for param {@code data-source}
     */
    public SqlHandler(DataSource database, Map<String, DataSource> dataSources) {
        this.database = database;
        this.dataSources = Map.copyOf(dataSources);
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

    @Override
    public void run(RunContext context) throws Exception {
        validate(context.params());
        String sql = HandlerParams.requiredString(context.params(), "statement");
        Duration param = HandlerParams.duration(context.params(), "timeout");
        Duration timeout = param == null ? context.timeout() : param;
        long start = System.nanoTime();
        try (Connection c = dataSource(context.params()).getConnection()) {
            // A long statement sends nothing for a while: the connection's own socket timeout must not cut it.
            c.setNetworkTimeout(Runnable::run, (int)
                    Math.min(Integer.MAX_VALUE, timeout.plus(NETWORK_MARGIN).toMillis()));
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("set local statement_timeout = " + Math.max(1, timeout.toMillis()));
                long rows = execute(c, st, sql, context);
                c.commit();
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                context.result("rows", rows);
                context.result("durationMs", millis);
                context.output(rows + " row(s) in " + millis + " ms");
            } catch (SQLException e) {
                rollbackQuietly(c);
                if ("57014".equals(e.getSQLState())) {
                    throw new RunFailedException(
                            "the statement was cancelled after its timeout of " + HandlerParams.text(timeout) + ": "
                                    + e.getMessage(),
                            e);
                }
                throw new RunFailedException("the statement failed: " + e.getMessage(), e);
            }
        }
    }

    /**
     * Runs the statement on a thread of its own, so that this thread can be interrupted without
     * breaking the connection: on interrupt it cancels the statement on the server instead.
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
            st.cancel();
            try {
                done.get(CANCEL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException | InterruptedException ignored) {
                // Cancelled as asked, or not answering: either way the transaction must not stay open.
            }
            if (!done.isDone()) {
                c.abort(Runnable::run);
            } else {
                rollbackQuietly(c);
            }
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

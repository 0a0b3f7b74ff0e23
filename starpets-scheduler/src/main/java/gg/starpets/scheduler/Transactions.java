package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Duration;
import javax.sql.DataSource;

/**
 * Short transactions: on a connection the caller holds, bounded in how long they wait for a row lock; or
 * an operator's command's, on a connection of its own ({@link #command}), or in the caller's own
 * transaction ({@link #inCallers}).
 */
final class Transactions {

    /** For the rest of the transaction. */
    private static final NamedSql LOCK_TIMEOUT = NamedSql.of("select set_config('lock_timeout', :ms, true)");

    private Transactions() {}

    @FunctionalInterface
    interface Work<T> {
        T run() throws SQLException;
    }

    @FunctionalInterface
    interface Command<T> {
        T run(Connection c) throws SQLException;
    }

    /**
     * One transaction of an operator's command ({@link TaskCommands}, {@link OneOffRuns}, {@link Backfills}) on a
     * connection of its own: committed when {@code work} returns, else rolled back.
     */
    static <T> T command(DataSource dataSource, Command<T> work) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new SchedulerException("could not change the task", e);
        }
    }

    /**
     * A command written in the caller's transaction on {@code c}, which it neither commits, rolls back
     * nor closes: what {@code work} writes stands or falls with the caller's work. Refused
     * ({@link IllegalStateException}, nothing sent) when {@code c} is in auto-commit mode, where each
     * statement would commit on its own. Under a savepoint: when {@code work} throws, what it wrote is
     * rolled back to it, and the caller's transaction stays usable.
     *
     * @param failed the message of the {@link SchedulerException} an {@link SQLException} becomes
     */
    static <T> T inCallers(Connection c, String failed, Work<T> work) {
        try {
            if (c.getAutoCommit()) {
                throw new IllegalStateException("The connection is in auto-commit mode: what is written on it"
                        + " would commit on its own, whether the caller's work commits or not; call"
                        + " setAutoCommit(false), and commit it with that work");
            }
            Savepoint before = c.setSavepoint();
            try {
                T result = work.run();
                c.releaseSavepoint(before);
                return result;
            } catch (SQLException | RuntimeException e) {
                try {
                    c.rollback(before);
                } catch (SQLException broken) {
                    e.addSuppressed(broken);
                }
                throw e;
            }
        } catch (SQLException e) {
            throw new SchedulerException(failed, e);
        }
    }

    /**
     * Runs {@code work} in a transaction of its own on {@code c} in which no row lock is waited for
     * longer than {@code lockTimeout} (an error then, SQLSTATE 55P03); restores the connection's
     * auto-commit after.
     */
    static <T> T inTransaction(Connection c, Duration lockTimeout, Work<T> work) throws SQLException {
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            setLockTimeout(c, lockTimeout);
            T result = work.run();
            c.commit();
            return result;
        } catch (SQLException | RuntimeException e) {
            try {
                c.rollback();
            } catch (SQLException ignored) {
                // The connection is broken: the server rolls back when it notices.
            }
            throw e;
        } finally {
            if (!c.isClosed()) {
                c.setAutoCommit(autoCommit);
            }
        }
    }

    /** For the rest of the caller's transaction: no row lock is waited for longer (at least a millisecond). */
    static void setLockTimeout(Connection c, Duration wait) throws SQLException {
        try (var st = LOCK_TIMEOUT.prepare(c).set("ms", Long.toString(Math.max(1, wait.toMillis())));
                ResultSet rs = st.executeQuery()) {
            rs.next();
        }
    }
}

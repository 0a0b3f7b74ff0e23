package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This copy's own database session. It holds a session-level advisory lock on {@code key}: when the
 * process dies, PostgreSQL ends the session and drops the lock at once, which is how other copies
 * see the death without waiting for a lease to run out. Heartbeats and lease renewals go through it.
 */
final class InstanceSession implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(InstanceSession.class);

    private final ConnectionFactory connections;
    private final long key;
    private final Duration lease;
    private Connection connection;

    InstanceSession(ConnectionFactory connections, long key, Duration lease) {
        this.connections = connections;
        this.key = key;
        this.lease = lease;
    }

    long key() {
        return key;
    }

    /** The live session, reconnecting (and taking the lock again) if it was lost. */
    synchronized Connection connection() throws SQLException {
        if (connection != null) {
            return connection;
        }
        Connection c = connections.open();
        try (var st = c.createStatement()) {
            // A frozen process or a cut network must not hold the lock much longer than a lease.
            st.execute("set idle_session_timeout = " + lease.toMillis());
            st.execute("set tcp_keepalives_idle = 2");
            st.execute("set tcp_keepalives_interval = 1");
            st.execute("set tcp_keepalives_count = 3");
            st.setQueryTimeout((int) Math.max(1, lease.toSeconds() / 3));
            try (var rs = st.executeQuery("select pg_try_advisory_lock(" + key + ")")) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    // The previous session of this process is still being torn down by the server.
                    throw new SQLException("the instance lock " + key + " is still held by an old session");
                }
            }
        } catch (SQLException e) {
            closeQuietly(c);
            throw e;
        }
        connection = c;
        log.info("Instance session opened (advisory lock {})", key);
        return c;
    }

    /** Drops a session that failed; the next {@link #connection()} opens a new one. */
    synchronized void invalidate() {
        if (connection != null) {
            closeQuietly(connection);
            connection = null;
        }
    }

    @Override
    public synchronized void close() {
        invalidate();
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException ignored) {
            // The session is being abandoned either way.
        }
    }
}

package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This instance's own database sessions. Two connections outside any pool each hold a shared
 * session-level advisory lock on {@code key}: the primary (heartbeats, lease renewals) and the
 * watch (LISTEN, {@link SessionWatch}). When the process dies PostgreSQL ends both sessions and the
 * lock is gone at once, which is how other instances see a death without waiting for a lease. One
 * session ending while the process lives (killed by an operator, a proxy reset) leaves the lock held
 * by the other, so it is not mistaken for a death; it is re-opened at once.
 */
final class InstanceSession implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(InstanceSession.class);

    private final ConnectionFactory primaryConnections;
    private final ConnectionFactory watchConnections;
    private final long key;
    private final Duration lease;
    private final LeaseGuard guard;
    private Connection primary;
    /** Until when (guard's clock) the claim loop is expected back for its next claim. */
    private volatile long claimTurnDue = Long.MIN_VALUE;

    InstanceSession(
            ConnectionFactory primaryConnections,
            ConnectionFactory watchConnections,
            long key,
            Duration lease,
            LeaseGuard guard) {
        this.primaryConnections = primaryConnections;
        this.watchConnections = watchConnections;
        this.key = key;
        this.lease = lease;
        this.guard = guard;
    }

    long key() {
        return key;
    }

    /**
     * The claim loop came for a claim (or, settling, to look at the shares) and will come again
     * within {@code next}; if it does not (its thread died or hangs on a call), this instance no
     * longer counts as one that can claim.
     */
    void claimTurn(java.time.Duration next) {
        claimTurnDue = guard.now() + next.toNanos();
    }

    /**
     * Whether this instance can claim now, as its heartbeat tells the others (fair shares count only
     * such instances): its claim loop is alive and the lease guard would let a claimed run take steps.
     */
    boolean claiming() {
        return guard.now() < claimTurnDue && guard.mayClaim();
    }

    /** The primary session, re-opened (taking the lock again) if it was lost. */
    synchronized Connection primary() throws SQLException {
        if (primary != null) {
            return primary;
        }
        long sent = guard.now();
        primary = open(primaryConnections);
        guard.primaryRoundTrip(sent);
        log.info("Instance session opened (advisory lock {})", key);
        return primary;
    }

    /** Drops a primary session that failed; the next {@link #primary()} opens a new one. */
    synchronized void primaryFailed() {
        if (primary != null) {
            closeQuietly(primary);
            primary = null;
        }
        guard.primaryLost();
    }

    /** A new watch connection holding the lock; the caller owns it. */
    Connection openWatch() throws SQLException {
        long sent = guard.now();
        Connection c = open(watchConnections);
        guard.watchOpened(sent);
        return c;
    }

    private Connection open(ConnectionFactory connections) throws SQLException {
        Connection c = connections.open();
        try (var st = c.createStatement()) {
            // The server drops a session it cannot reach after about 5 s of silence (keepalive), never
            // sooner: LeaseGuard counts on that. A frozen process is cleaned up after two leases.
            st.execute("set tcp_keepalives_idle = 2");
            st.execute("set tcp_keepalives_interval = 1");
            st.execute("set tcp_keepalives_count = 3");
            st.execute("set idle_session_timeout = " + lease.multipliedBy(2).toMillis());
            st.setQueryTimeout((int) Math.max(1, lease.toSeconds() / 3));
            // Shared: both of this process's sessions hold it; nobody ever takes it exclusively.
            st.execute("select pg_advisory_lock_shared(" + key + ")");
        } catch (SQLException e) {
            closeQuietly(c);
            throw e;
        }
        return c;
    }

    @Override
    public synchronized void close() {
        if (primary != null) {
            closeQuietly(primary);
            primary = null;
        }
    }

    static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException ignored) {
            // The session is being abandoned either way.
        }
    }
}

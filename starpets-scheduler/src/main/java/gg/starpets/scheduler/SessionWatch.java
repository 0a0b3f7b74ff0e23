package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The second connection holding this instance's lock (see {@link InstanceSession}). It waits in a
 * blocking read almost all the time, for {@code NOTIFY}s that a task became claimable (released,
 * recovered, changed), so it also notices the instant its session ends (the server closes it:
 * terminated, restarting, or a proxy reset) and tells the {@link LeaseGuard}. It pings once a
 * heartbeat, so that a half-open connection is found within seconds too.
 */
final class SessionWatch implements Runnable {

    static final String CHANNEL = "starpets_tasks";
    /** Payload: the id of a run an operator cancelled. */
    static final String CANCEL_CHANNEL = "starpets_cancel";

    private static final Logger log = LoggerFactory.getLogger(SessionWatch.class);

    private final InstanceSession session;
    private final LeaseGuard guard;
    private final Wakeup wakeup;
    private final Runnable renewNow;
    private final java.util.function.LongConsumer cancel;
    private final Duration heartbeat;
    private volatile boolean stopping;
    private volatile Connection current;
    private final java.util.concurrent.atomic.AtomicLong losses = new java.util.concurrent.atomic.AtomicLong();

    /**
     * @param renewNow asks for a heartbeat at once: when the watch fails (to check the primary session)
     *     and when it is back (to confirm the hold again)
     * @param cancel stops a run of this instance that an operator cancelled (others' are ignored)
     */
    SessionWatch(
            InstanceSession session,
            LeaseGuard guard,
            Wakeup wakeup,
            Runnable renewNow,
            java.util.function.LongConsumer cancel,
            Duration heartbeat) {
        this.cancel = cancel;
        this.session = session;
        this.guard = guard;
        this.wakeup = wakeup;
        this.renewNow = renewNow;
        this.heartbeat = heartbeat;
    }

    @Override
    public void run() {
        int failures = 0;
        while (!stopping) {
            try (Connection c = session.openWatch()) {
                current = c;
                try (var st = c.createStatement()) {
                    st.execute("listen " + CHANNEL);
                    st.execute("listen " + CANCEL_CHANNEL);
                }
                if (failures > 0) {
                    log.info("Watch session back after {} failed attempt(s)", failures);
                }
                failures = 0;
                // A renewal now confirms the hold again after a loss; and something may have been
                // released while we were not listening.
                renewNow.run();
                wakeup.signal();
                watch(c);
            } catch (SQLException | RuntimeException e) {
                if (stopping) {
                    return;
                }
                if (e instanceof RuntimeException) {
                    log.error("Watch failed; reopening its session", e);
                }
                guard.watchLost();
                losses.incrementAndGet();
                renewNow.run();
                if (failures++ == 0) {
                    log.warn("Watch session lost ({}); reopening", e.getMessage());
                }
                pause(failures);
            } finally {
                current = null;
            }
        }
    }

    private void watch(Connection c) throws SQLException {
        PGConnection pg = c.unwrap(PGConnection.class);
        long heartbeatNanos = heartbeat.toNanos();
        long lastPing = guard.now();
        while (!stopping) {
            var received = pg.getNotifications((int) Math.max(1, heartbeat.toMillis()));
            if (received != null) {
                for (var notification : received) {
                    if (CANCEL_CHANNEL.equals(notification.getName())) {
                        cancel(notification.getParameter());
                    } else {
                        wakeup.signal();
                    }
                }
            }
            if (guard.now() - lastPing >= heartbeatNanos) {
                long sent = guard.now();
                try (var st = c.createStatement()) {
                    st.execute("select 1");
                }
                guard.watchRoundTrip(sent);
                lastPing = sent;
            }
        }
    }

    /** Any role may NOTIFY: a payload that is not a run id is ignored. */
    private void cancel(String payload) {
        long runId;
        try {
            runId = Long.parseLong(payload.strip());
        } catch (NumberFormatException e) {
            log.warn("Ignored a notification on {} that is not a run id: '{}'", CANCEL_CHANNEL, abbreviate(payload));
            return;
        }
        cancel.accept(runId);
    }

    private static String abbreviate(String text) {
        String shown = text.replaceAll("\\p{Cntrl}", "?");
        return shown.length() <= 40 ? shown : shown.substring(0, 40) + "…";
    }

    /** How many times the watch session was lost (killed, cut, half-open). */
    long losses() {
        return losses.get();
    }

    void stop() {
        stopping = true;
        Connection c = current;
        if (c != null) {
            InstanceSession.closeQuietly(c);
        }
    }

    private void pause(int failures) {
        try {
            // At once the first time (a single session killed), then backing off to a heartbeat.
            Thread.sleep(Math.min(heartbeat.toMillis(), 20L * (1L << Math.min(failures, 6)) - 20));
        } catch (InterruptedException e) {
            stopping = true;
            Thread.currentThread().interrupt();
        }
    }
}

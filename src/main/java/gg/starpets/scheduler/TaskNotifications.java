package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LISTENs for "a task became claimable" (released at shutdown, recovered from a dead copy) so that
 * the claim loop reacts in milliseconds rather than at its next poll.
 */
final class TaskNotifications implements Runnable {

    static final String CHANNEL = "starpets_tasks";
    private static final Logger log = LoggerFactory.getLogger(TaskNotifications.class);

    private final ConnectionFactory connections;
    private final Wakeup wakeup;
    private final Duration poll;
    private volatile boolean stopping;

    TaskNotifications(ConnectionFactory connections, Wakeup wakeup, Duration poll) {
        this.connections = connections;
        this.wakeup = wakeup;
        this.poll = poll;
    }

    @Override
    public void run() {
        while (!stopping) {
            try (Connection c = connections.open()) {
                try (var st = c.createStatement()) {
                    st.execute("listen " + CHANNEL);
                }
                // Something may have been released while we were not listening.
                wakeup.signal();
                PGConnection pg = c.unwrap(PGConnection.class);
                while (!stopping) {
                    var received = pg.getNotifications((int) Math.min(poll.toMillis(), 1000));
                    if (received != null && received.length > 0) {
                        wakeup.signal();
                    }
                }
            } catch (SQLException e) {
                if (!stopping) {
                    log.warn("LISTEN connection failed ({}); reconnecting", e.getMessage());
                    pause();
                }
            }
        }
    }

    void stop() {
        stopping = true;
    }

    private void pause() {
        try {
            Thread.sleep(poll.toMillis() / 5 + 100);
        } catch (InterruptedException e) {
            stopping = true;
            Thread.currentThread().interrupt();
        }
    }
}

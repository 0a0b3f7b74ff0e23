package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import javax.sql.DataSource;

/** Claims this copy's fair share of the due tasks and starts them. One call is one claim. */
final class Claimer {

    /**
     * What a claim did. {@code nextDueIn}: until the earliest unowned task falls due, as the
     * database saw it before the claim (zero when one was already due; null when there is none).
     */
    record Outcome(int claimed, int quota, Duration nextDueIn) {

        /**
         * How long the claim loop may sleep before the next claim; a notification or the end of one
         * of this copy's runs wakes it earlier.
         */
        Duration sleep(Duration poll, Duration heartbeat) {
            if (claimed > 0 && claimed == quota) {
                return Duration.ZERO; // there may be more to take
            }
            if (nextDueIn == null) {
                return poll;
            }
            if (nextDueIn.isPositive()) {
                // Nothing due yet: wake when the first one is, whatever our share is now.
                return nextDueIn.compareTo(poll) < 0 ? nextDueIn : poll;
            }
            // Something is due that we did not take: other copies' share (look again after a
            // heartbeat), or rows other copies were locking while they claimed them (look again now).
            return quota == 0 ? heartbeat : Duration.ZERO;
        }
    }

    private final SchedulerSettings settings;
    private final DataSource dataSource;
    private final TaskRepository tasks;
    private final RunExecutor executor;
    private final long sessionKey;

    Claimer(
            SchedulerSettings settings,
            DataSource dataSource,
            TaskRepository tasks,
            RunExecutor executor,
            long sessionKey) {
        this.settings = settings;
        this.dataSource = dataSource;
        this.tasks = tasks;
        this.executor = executor;
        this.sessionKey = sessionKey;
    }

    Outcome runOnce() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            TaskRepository.Share share = tasks.share(c, settings.instanceId(), sessionKey, settings.lease());
            int quota = share.quota();
            if (quota == 0) {
                return new Outcome(0, 0, share.nextDueIn());
            }
            List<TaskRepository.ClaimedRun> claimed =
                    tasks.claim(c, settings.instanceId(), sessionKey, settings.lease(), quota);
            claimed.forEach(executor::start);
            return new Outcome(claimed.size(), quota, share.nextDueIn());
        }
    }

    /** What the database says of the copies and their tasks now, without claiming anything. */
    TaskRepository.Share share() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            return tasks.share(c, settings.instanceId(), sessionKey, settings.lease());
        }
    }
}

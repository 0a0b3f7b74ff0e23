package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;

/**
 * Claims this instance's fair share of the due tasks, no more than fits in its {@link Capacity}, and starts them. One call is one claim; the loop
 * around it is {@link ClaimLoop}.
 */
final class Claimer {

    /**
     * What a claim did. {@code nextDueIn}: until the earliest unowned task can be claimed (a claim ahead
     * before it falls due), as the database saw it before the claim (zero when one already could; null when
     * there is none).
     */
    record Outcome(int claimed, int quota, Duration nextDueIn) {

        /** This instance could not be sure now that it would hold what it claims: nothing was asked. */
        static final Outcome NOT_NOW = new Outcome(0, 0, null);

        /** Every unit of this instance's capacity is in use: nothing was asked (an own run's end wakes the loop). */
        static final Outcome FULL = new Outcome(0, 0, null);
    }

    private final SchedulerSettings settings;
    private final DataSource dataSource;
    private final TaskRepository tasks;
    private final RunExecutor executor;
    private final LeaseGuard guard;
    private final InstanceSession session;
    private final Capacity capacity;
    private final Runnable capacityChanged;
    private final long sessionKey;
    private final OwnedRuns ownedRuns;
    private volatile long claimStatements;

    Claimer(
            SchedulerSettings settings,
            DataSource dataSource,
            TaskRepository tasks,
            RunExecutor executor,
            LeaseGuard guard,
            InstanceSession session,
            Capacity capacity,
            Runnable capacityChanged,
            SchedulerEvents events) {
        this.settings = settings;
        this.dataSource = dataSource;
        this.tasks = tasks;
        this.executor = executor;
        this.guard = guard;
        this.session = session;
        this.capacity = capacity;
        this.capacityChanged = capacityChanged;
        this.sessionKey = session.key();
        this.ownedRuns = new OwnedRuns(dataSource, settings.instanceId(), events);
    }

    /** Claims this instance's share, unless it cannot be sure now that it would hold what it claims. */
    Outcome runOnce() throws SQLException {
        session.claimTurn(turnLimit());
        if (!guard.mayClaim()) {
            return Outcome.NOT_NOW;
        }
        Capacity.Room room = capacity.room();
        if (room.free() == 0) {
            // Full: nothing to claim until one of this instance's runs ends, which wakes the loop.
            return Outcome.FULL;
        }
        try (Connection c = dataSource.getConnection()) {
            Share share = share(c);
            // Never more than is free here: each run costs at least a unit.
            int quota = Math.min(share.quota(), room.free());
            if (quota == 0) {
                return new Outcome(0, 0, share.nextDueIn());
            }
            // A task whose earlier run's handler still executes here (it lost its fence and ignores
            // interruption) is not started here again: never two handlers of one task in this process.
            long[] busy = executor.notReturned().stream()
                    // A run of an ALLOW task in its place keeps no other run of its task from starting here.
                    .filter(r -> !r.claim.ownsItself() || r.stopReason() != null)
                    .mapToLong(r -> r.claim.taskId())
                    .toArray();
            long sent = guard.now();
            // The clock is read for the claim's span only when runs are traced; spans are built on the runs' threads.
            Instant claimSent = executor.traced() ? Instant.now() : null;
            claimStatements++;
            List<ClaimedRun> claimed = tasks.claim(
                    c,
                    settings.instanceId(),
                    sessionKey,
                    settings.lease(),
                    quota,
                    busy,
                    room,
                    settings.priorityAging(),
                    share.groupLimits(),
                    settings.claimAhead());
            long returned = guard.now();
            Instant claimReturned = claimSent == null ? null : Instant.now();
            claimed.forEach(run -> executor.start(run, sent, returned, claimSent, claimReturned));
            if (ownedRuns.afterClaim(c, claimed)) {
                TaskRepository.notifyTasksChanged(c);
            }
            if (capacity.stale()) {
                capacityChanged.run(); // full now: the others should know before they next claim
            }
            return new Outcome(claimed.size(), quota, share.nextDueIn());
        }
    }

    /**
     * The longest the claim loop may take to come back for its next claim: its longest sleep (the poll;
     * a heartbeat after a failure or while settling) plus a heartbeat for the statements themselves.
     */
    private Duration turnLimit() {
        Duration sleep = settings.poll().compareTo(settings.heartbeat()) > 0 ? settings.poll() : settings.heartbeat();
        return sleep.plus(settings.heartbeat());
    }

    /**
     * The instance registered as claiming (counted in the shares from its start, while it settles):
     * its claim loop's first turn comes within a turn limit. Without this, its first heartbeat, often
     * written before that turn, told the others it could not claim, and for a heartbeat they split the
     * work without it (a task due then went to an instance already at its share).
     */
    void starting() {
        session.claimTurn(turnLimit());
    }

    /** How many claim statements this instance has sent (a loop that spins shows here). */
    long claimStatements() {
        return claimStatements;
    }

    /**
     * What the database says of the live instances and their tasks now, without claiming anything
     * (settling); also a claim turn, so that instances settling together count one another as sharing.
     */
    ShareRepository.Peers peers() throws SQLException {
        session.claimTurn(turnLimit());
        try (Connection c = dataSource.getConnection()) {
            return ShareRepository.peers(c, settings.instanceId(), sessionKey, settings.lease());
        }
    }

    /** Tells the others this instance has ended its settling: those still settling stop too. */
    void settled() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            InstanceRepository.settled(c, settings.instanceId(), sessionKey);
        }
    }

    private Share share(Connection c) throws SQLException {
        return ShareRepository.share(
                c, settings.instanceId(), sessionKey, settings.lease(), settings.spreadWindow(), settings.claimAhead());
    }
}

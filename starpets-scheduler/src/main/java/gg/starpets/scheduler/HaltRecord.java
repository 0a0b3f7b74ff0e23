package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last thing before this process halts itself (a handler ignored interruption past its hold):
 * writes, best effort, which runs made it halt and which were only halted with them, so that the
 * instance recovering them counts toward quarantine only the first ({@code task_runs.halt_culprit}).
 * The halt waits for the write at most {@link #LIMIT}, and never more than half the time until the
 * hold of the culprits ends, so that it still comes before anyone may start their tasks.
 * If the database cannot be reached in that time (a partition, often the very reason for the halt),
 * nothing is written and the quarantine window decides, as for any death.
 */
final class HaltRecord implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(HaltRecord.class);

    /** A round trip to a reachable database takes milliseconds; the halt is not delayed longer than this. */
    static final Duration LIMIT = Duration.ofMillis(100);

    private final DataSource dataSource;
    private final RunExecutor executor;
    private final LeaseGuard guard;
    private final Runnable halt;

    HaltRecord(DataSource dataSource, RunExecutor executor, LeaseGuard guard, Runnable halt) {
        this.dataSource = dataSource;
        this.executor = executor;
        this.guard = guard;
        this.halt = halt;
    }

    @Override
    public void run() {
        try {
            record();
        } catch (RuntimeException e) {
            log.warn("Could not record why this process halts: {}", e.toString());
        }
        halt.run();
    }

    private void record() {
        List<LocalRun> runs = executor.activeRuns();
        // The culprits: asked to stop, still executing their own code (not waiting in their context).
        List<LocalRun> culprits = runs.stream()
                .filter(r -> r.stopReason() != null && r.executing())
                .toList();
        if (culprits.isEmpty()) {
            return;
        }
        long now = guard.now();
        long holdLeft = culprits.stream().mapToLong(LocalRun::holdEnd).min().orElseThrow() - now;
        // Started even with no time left (a late halt): it costs nothing, and lands if the halt does not come.
        long budget = Math.max(0, Math.min(LIMIT.toNanos(), holdLeft / 2));
        long[] culpritIds = culprits.stream().mapToLong(r -> r.claim.runId()).toArray();
        long[] runIds = runs.stream().mapToLong(r -> r.claim.runId()).toArray();
        Thread writer = Thread.ofVirtual().name("starpets-halt-record").start(() -> {
            try (Connection c = dataSource.getConnection()) {
                OrphanRepository.recordHalt(c, culpritIds, runIds);
            } catch (SQLException | RuntimeException e) {
                log.warn("Could not record why this process halts: {}", e.getMessage());
            }
        });
        try {
            if (budget > 0) {
                writer.join(Duration.ofNanos(budget));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

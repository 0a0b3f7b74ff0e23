package gg.starpets.scheduler;

import java.time.Duration;
import java.util.Map;

/** What a handler knows about the run it is doing, and how it reports progress. */
public final class RunContext {

    private final long runId;
    private final long fence;
    private final String taskName;
    private final Map<String, Object> params;
    private volatile Double progress;

    RunContext(long runId, long fence, String taskName, Map<String, Object> params) {
        this.runId = runId;
        this.fence = fence;
        this.taskName = taskName;
        this.params = Map.copyOf(params);
    }

    public long runId() {
        return runId;
    }

    public long fence() {
        return fence;
    }

    public String taskName() {
        return taskName;
    }

    public Map<String, Object> params() {
        return params;
    }

    /** Reports how far the run is, from 0 to 1; written to the database with the next heartbeat. */
    public void reportProgress(double fraction) {
        if (Double.isNaN(fraction)) {
            return;
        }
        progress = Math.max(0, Math.min(1, fraction));
    }

    public Double progress() {
        return progress;
    }

    /** Sleeps, or throws at once when the run is interrupted. */
    public void sleep(Duration duration) throws InterruptedException {
        Thread.sleep(duration);
    }

    /** Throws if the run has been asked to stop; for handlers that compute without blocking. */
    public void checkInterrupted() throws InterruptedException {
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedException("run " + runId + " of " + taskName + " was interrupted");
        }
    }
}

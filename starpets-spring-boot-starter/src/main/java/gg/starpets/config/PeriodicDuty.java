package gg.starpets.config;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.springframework.context.SmartLifecycle;

/**
 * A duty of the Spring side that runs on its own daemon thread at a fixed delay while the application
 * context runs (the engine builds its threads in {@code EngineThreads}). Stopping interrupts a run in
 * progress: a duty must leave nothing half-written when interrupted.
 */
public abstract class PeriodicDuty implements SmartLifecycle {

    private final String threadName;
    private ScheduledExecutorService executor;

    protected PeriodicDuty(String threadName) {
        this.threadName = threadName;
    }

    /** One run of the duty; it must not throw (an exception would end the schedule). */
    protected abstract void runOnce();

    /** How long after start the first run comes. */
    protected abstract Duration initialDelay();

    /** The pause between the end of one run and the start of the next. */
    protected abstract Duration interval();

    @Override
    public synchronized void start() {
        executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
        executor.scheduleWithFixedDelay(
                this::runOnce, initialDelay().toMillis(), interval().toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public synchronized void stop() {
        if (executor != null) {
            executor.shutdownNow();
            executor = null;
        }
    }

    @Override
    public synchronized boolean isRunning() {
        return executor != null;
    }
}

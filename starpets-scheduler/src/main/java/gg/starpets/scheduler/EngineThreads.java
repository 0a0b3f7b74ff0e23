package gg.starpets.scheduler;

import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the engine's long-lived threads and its housekeeping pool so that none of them ends
 * silently. A loop that ends while the scheduler is not closing, by an exception or otherwise, and a
 * periodic duty that throws an {@link Error} (an executor would cancel it for ever), make the
 * instance unhealthy: {@link #failure()} says which and why, and the listener is told once. A
 * periodic duty that throws a {@link RuntimeException} is logged and keeps its schedule.
 */
final class EngineThreads {

    private static final Logger log = LoggerFactory.getLogger(EngineThreads.class);

    private final AtomicReference<String> failure = new AtomicReference<>();
    private volatile Consumer<String> onFailure = f -> {};
    private volatile boolean closing;

    /** A platform thread running {@code loop}, which should return only once {@link #closing()} was called. */
    Thread thread(String name, boolean daemon, Runnable loop) {
        return Thread.ofPlatform().name(name).daemon(daemon).unstarted(() -> {
            Throwable thrown = null;
            try {
                loop.run();
            } catch (Throwable e) {
                thrown = e;
                throw e;
            } finally {
                if (!closing) {
                    failed(name + " ended" + (thrown == null ? "" : " by " + thrown));
                    if (thrown != null) {
                        log.error("Thread {} ended unexpectedly", name, thrown);
                    }
                }
            }
        });
    }

    /** The housekeeping pool: its tasks never end silently (see the class comment). */
    ScheduledExecutorService housekeeping(int threads, String namePrefix) {
        return new GuardedPool(threads, namePrefix);
    }

    /** The scheduler is stopping (or halting): its loops ending now is expected. */
    void closing() {
        closing = true;
    }

    /** Records that the engine can no longer do its work; the first failure is the one kept. */
    void failed(String what) {
        if (failure.compareAndSet(null, what)) {
            log.error("Scheduler engine failure: {}; /health reports it", what);
            onFailure.accept(what);
        }
    }

    /** Why this instance's engine stopped working, if it did. */
    Optional<String> failure() {
        return Optional.ofNullable(failure.get());
    }

    /** Called once, with the reason, when the engine fails (at once if it already has). */
    void onFailure(Consumer<String> listener) {
        onFailure = listener;
        String already = failure.get();
        if (already != null) {
            listener.accept(already);
        }
    }

    private Runnable guarded(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                log.error("A housekeeping duty failed; it runs again at its next time", e);
            } catch (Error e) {
                failed("a housekeeping duty ended by " + e);
                throw e;
            }
        };
    }

    private final class GuardedPool extends ScheduledThreadPoolExecutor {

        GuardedPool(int threads, String namePrefix) {
            super(threads, Thread.ofPlatform().name(namePrefix, 1).daemon().factory());
            // Every run schedules its timeout; a run that ends in time must not leave its timer behind.
            setRemoveOnCancelPolicy(true);
        }

        @Override
        public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
            return super.schedule(guarded(command), delay, unit);
        }

        @Override
        public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
            return super.scheduleAtFixedRate(guarded(command), initialDelay, period, unit);
        }

        @Override
        public ScheduledFuture<?> scheduleWithFixedDelay(
                Runnable command, long initialDelay, long delay, TimeUnit unit) {
            return super.scheduleWithFixedDelay(guarded(command), initialDelay, delay, unit);
        }
    }
}

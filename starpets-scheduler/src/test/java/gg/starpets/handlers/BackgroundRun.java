package gg.starpets.handlers;

import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.TaskHandler;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A handler running on a thread of its own, as the scheduler runs it, so that a test can interrupt it. */
final class BackgroundRun {

    final RunContext context;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private final Thread thread;

    private BackgroundRun(TaskHandler handler, RunContext context) {
        this.context = context;
        this.thread = Thread.ofVirtual().name("test-run-" + context.taskName()).start(() -> {
            try {
                handler.run(context);
                done.complete(null);
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        });
    }

    static BackgroundRun start(TaskHandler handler, RunContext context) {
        return new BackgroundRun(handler, context);
    }

    /** Stops the run as the scheduler does: by interrupting its thread. */
    void interrupt() {
        thread.interrupt();
    }

    /** How the handler ended (null: it returned), waiting at most {@code limit}. */
    Throwable outcome(Duration limit) throws InterruptedException, TimeoutException {
        try {
            done.get(limit.toMillis(), TimeUnit.MILLISECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }
}

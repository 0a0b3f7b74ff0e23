package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import javax.sql.DataSource;

/**
 * A group commit of this instance's run ends, as the balance's {@code ChangeBatcher} does for a user's
 * changes: the ends that arrive while one statement is being written are written together by the next
 * ({@link RunEndRepository}), at most {@link #MAX_BATCH} at once. No timer and no queue beyond the ends waiting
 * right now: an end that finds no write in progress is written at once (a batch of one). Every caller
 * waits for its own committed outcome (whether the fence still held), so a run's end is written, or found
 * taken over, exactly as when written alone.
 *
 * <p>While ends are waiting, one virtual thread ({@code starpets-run-ends}) writes them, batch after batch,
 * on one pooled connection, and ends when none are left. The batch never waits for a row lock: an end
 * whose row another transaction holds locked (a renewal, a progress write, an operator's command) is
 * left for the next batch, and after {@link #ATTEMPTS} written by its own caller with
 * {@link TaskRepository#finish}, waiting for its row as before, while the writer goes on. Ends of one-off
 * runs are written together too, in one transaction of three or four statements
 * ({@link RunEndRepository#writeOneOffs}).
 */
final class RunEndBatcher {

    /** At most this many ends in one statement: a batch's row locks are held until it commits. */
    static final int MAX_BATCH = 256;

    /**
     * How many batches an end whose row is locked by another transaction (a renewal, a progress write, an
     * operator's command: each a moment) is tried in before its caller writes it alone, waiting for the row.
     */
    static final int ATTEMPTS = 3;

    private record Waiting(RunEndRepository.Pending end, CompletableFuture<Boolean> released, int attempts) {}

    private final DataSource dataSource;
    private final TaskRepository tasks;
    private final long sessionKey;
    /** The ends not yet taken by the writer; guarded by {@code this}, as is {@link #writing}. */
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();

    private boolean writing;

    RunEndBatcher(DataSource dataSource, TaskRepository tasks, long sessionKey) {
        this.dataSource = dataSource;
        this.tasks = tasks;
        this.sessionKey = sessionKey;
    }

    /**
     * Writes the end of {@code run} (its task given back as {@code next} says) with the others waiting now;
     * returns once it is committed: true if the task was still this session's at the run's fence, false if
     * it was taken over (nothing written). An error of the write is thrown as is (nothing of this end written,
     * or, as for any statement whose answer was lost, perhaps written: a retry then finds it taken).
     */
    boolean finish(ClaimedRun run, NextRun next, RunEnd end) throws SQLException {
        if (run.ownsItself()) {
            // Its statements guard the task's row; such a run's fence is on its own row (OwnedRunRepository).
            throw new IllegalArgumentException("run " + run.runId() + " of an overlap ALLOW task is ended alone");
        }
        Waiting w = new Waiting(new RunEndRepository.Pending(run, next, end), new CompletableFuture<>(), 0);
        boolean start;
        synchronized (this) {
            waiting.add(w);
            start = !writing;
            writing = true;
        }
        if (start) {
            Thread.ofVirtual().name("starpets-run-ends").start(this::writeWhileWaiting);
        }
        Boolean released;
        try {
            // Not interruptible: once handed over, the end is written whatever this thread is asked.
            released = w.released().join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof SQLException sql) {
                throw sql;
            }
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw e;
        }
        if (released != null) {
            return released;
        }
        try (Connection c = dataSource.getConnection()) {
            return tasks.finish(c, run, sessionKey, next, end);
        }
    }

    private void writeWhileWaiting() {
        while (true) {
            List<Waiting> batch = new ArrayList<>();
            synchronized (this) {
                while (batch.size() < MAX_BATCH && !waiting.isEmpty()) {
                    batch.add(waiting.poll());
                }
                if (batch.isEmpty()) {
                    writing = false;
                    return;
                }
            }
            try {
                write(batch);
            } catch (Throwable e) {
                batch.forEach(w -> w.released().completeExceptionally(e));
                if (e instanceof Error error) {
                    synchronized (this) {
                        writing = false;
                    }
                    throw error;
                }
            }
        }
    }

    /**
     * Writes the ends of runs of tasks in one statement, those of one-off runs in one transaction, and
     * completes each with whether its task was released, or with null: its caller writes it alone. An end
     * whose row another transaction held locked waits for the next batch, at most {@link #ATTEMPTS} times.
     */
    private void write(List<Waiting> batch) throws SQLException {
        List<Waiting> ofTasks = new ArrayList<>();
        List<Waiting> oneOffs = new ArrayList<>();
        for (Waiting w : batch) {
            (w.end().run().oneOff() ? oneOffs : ofTasks).add(w);
        }
        List<Waiting> again = new ArrayList<>();
        try (Connection c = dataSource.getConnection()) {
            if (!ofTasks.isEmpty()) {
                settle(ofTasks, RunEndRepository.write(c, sessionKey, ends(ofTasks)), again);
            }
            if (!oneOffs.isEmpty()) {
                settle(oneOffs, RunEndRepository.writeOneOffs(c, sessionKey, ends(oneOffs)), again);
            }
        } finally {
            if (!again.isEmpty()) {
                synchronized (this) {
                    // After the ends waiting now: the lock another transaction holds is usually gone by then.
                    waiting.addAll(again);
                }
            }
        }
    }

    private static List<RunEndRepository.Pending> ends(List<Waiting> waiting) {
        return waiting.stream().map(Waiting::end).toList();
    }

    /** Completes each of {@code written} as {@code released} says; those locked elsewhere into {@code again}. */
    private static void settle(List<Waiting> written, Boolean[] released, List<Waiting> again) {
        for (int k = 0; k < released.length; k++) {
            Waiting w = written.get(k);
            if (released[k] != null) {
                w.released().complete(released[k]);
            } else if (w.attempts() + 1 < ATTEMPTS) {
                again.add(new Waiting(w.end(), w.released(), w.attempts() + 1));
            } else {
                // Locked each time: written by its caller, waiting for its row as when written alone.
                w.released().complete(null);
            }
        }
    }
}

package gg.starpets.scheduler;

import gg.starpets.scheduler.TaskCommands.Refusal;
import gg.starpets.scheduler.TaskCommands.RefusedException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import javax.sql.DataSource;

/**
 * Operators' one-off runs ({@code POST /tasks/{name}/runs}): a run of a task asked for now or for a
 * time, with params merged over the task's, recorded PENDING until a claim starts it
 * ({@link OneOffRepository}). It runs like any run of the task: never while another run of the task
 * is in progress (it waits for it), under the task's timeout, retried by the task's retry policy,
 * recovered when its instance is lost, and it leaves the task's own schedule as it was. A paused task's
 * one-off runs wait for it to be resumed. Each command is one transaction with its audit event.
 */
public final class OneOffRuns {

    /** A one-off run as asked for: its id, its time, and whether an earlier request with the same key made it. */
    public record Requested(long runId, String task, boolean replayed) {}

    private final DataSource dataSource;

    public OneOffRuns(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /**
     * Asks for a run of task {@code name} at {@code at} (null: now) with {@code params} merged over the
     * task's (top-level keys replace the task's). {@code check} is given the task's definition with the
     * merged params, under the task's row lock, and throws when the handler refuses them (nothing is
     * written). With an {@code idempotencyKey}: the run asked for before under the same key (and the
     * same {@code requestJson}) is answered again, and nothing is written; the same key with another
     * request is refused.
     */
    public Requested request(
            String name,
            Map<String, Object> params,
            Instant at,
            String idempotencyKey,
            String requestJson,
            Consumer<TaskDefinition> check,
            String actor) {
        return Transactions.command(dataSource, c -> {
            StoredTask task = lockedRunnable(c, name);
            if (idempotencyKey != null) {
                try {
                    Long earlier = OneOffRepository.earlierRequest(c, task.id(), idempotencyKey, requestJson);
                    if (earlier != null) {
                        return new Requested(earlier, name, true);
                    }
                } catch (IllegalStateException e) {
                    throw new RefusedException(
                            Refusal.IDEMPOTENCY_KEY_REUSED,
                            "This Idempotency-Key was first used with another request for task '" + name
                                    + "'; nothing was changed");
                }
            }
            Map<String, Object> merged = new LinkedHashMap<>(task.definition().params());
            if (params != null) {
                merged.putAll(params);
            }
            check.accept(task.definition().withParams(merged));
            Instant runAt = at == null ? DbClock.now(c) : at;
            long runId = OneOffRepository.insertPending(
                    c, task.id(), name, runAt, Json.write(merged), actor, idempotencyKey, requestJson);
            TaskEvents.record(
                    c,
                    name,
                    actor,
                    AuditAction.RUN_REQUESTED,
                    null,
                    Json.write(merged),
                    "run " + runId + " at " + runAt);
            return new Requested(runId, name, false);
        });
    }

    /**
     * The task, its row locked for the caller's transaction, if runs of it may be asked for: refused when
     * there is no such task, or it is disabled, retired or quarantined.
     */
    static StoredTask lockedRunnable(Connection c, String name) throws SQLException {
        StoredTask task = TaskCommands.locked(c, name);
        if (task == null) {
            throw TaskCommands.notFound(name);
        }
        if (!task.definition().enabled() || task.retired()) {
            throw new RefusedException(Refusal.DISABLED, "Task '" + name + "' is disabled");
        }
        if (task.quarantined()) {
            throw new RefusedException(Refusal.QUARANTINED, "Task '" + name + "' is quarantined; resume it first");
        }
        return task;
    }

    /**
     * Withdraws a pending one-off run: it ends CANCELLED without having started. Refused when it has
     * started or ended ({@link Refusal#RUN_STARTED}: {@code POST /runs/{id}/cancel} stops a run in
     * progress). Returns the task's name.
     */
    public String withdraw(long runId, String actor) {
        return Transactions.command(dataSource, c -> {
            OneOffRepository.RunOf run = OneOffRepository.run(c, runId);
            if (run == null) {
                throw new RefusedException(Refusal.RUN_NOT_FOUND, "No run " + runId);
            }
            if (run.status() != RunStatus.PENDING
                    || !OneOffRepository.withdraw(c, run.taskId(), runId, "cancelled before it started by " + actor)) {
                throw new RefusedException(
                        Refusal.RUN_STARTED,
                        "Run " + runId + " is not pending (it has started or ended); POST /runs/" + runId
                                + "/cancel stops a run in progress");
            }
            TaskEvents.record(c, run.task(), actor, AuditAction.RUN_WITHDRAWN, null, null, "run " + runId);
            return run.task();
        });
    }

    /** The task's pending one-off runs, the earliest first (at most {@code limit}). */
    public List<RunRepository.RunRow> pending(String task, int limit) {
        return Transactions.command(dataSource, c -> OneOffRepository.pending(c, task, limit));
    }
}

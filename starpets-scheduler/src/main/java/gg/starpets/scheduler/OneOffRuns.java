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

    /** The longest idempotency key. */
    public static final int MAX_KEY_LENGTH = 255;

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
     * request is refused. One transaction of its own, committed before it returns.
     */
    public Requested request(
            String name,
            Map<String, Object> params,
            Instant at,
            String idempotencyKey,
            String requestJson,
            Consumer<TaskDefinition> check,
            String actor) {
        checkIdempotencyKey(idempotencyKey);
        return Transactions.command(
                dataSource, c -> request(c, name, params, at, idempotencyKey, requestJson, check, actor));
    }

    /**
     * As {@link #request(String, Map, Instant, String, String, Consumer, String)}, in the caller's
     * transaction on {@code c}: nothing is committed, rolled back or closed here, so the run (and its
     * audit event) exists if and only if the caller's transaction commits. Refused, before anything is
     * sent, when {@code c} is in auto-commit mode: each statement would commit on its own, and the run
     * could not stand or fall with the caller's work. Done under a savepoint: when it is refused or
     * fails, what it wrote is rolled back to it and the caller's transaction stays usable. The task's
     * row stays locked until the caller's transaction ends: the task is not claimed meanwhile.
     */
    public static Requested request(
            Connection c,
            String name,
            Map<String, Object> params,
            Instant at,
            Consumer<TaskDefinition> check,
            String actor) {
        return Transactions.inCallers(
                c,
                "could not ask for a run of task " + name,
                () -> request(c, name, params, at, null, requestJson(params, at), check, actor));
    }

    /** The one body of both: the task locked, the key looked up, the params checked, the run and its event written. */
    private static Requested request(
            Connection c,
            String name,
            Map<String, Object> params,
            Instant at,
            String idempotencyKey,
            String requestJson,
            Consumer<TaskDefinition> check,
            String actor)
            throws SQLException {
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
                c, name, actor, AuditAction.RUN_REQUESTED, null, Json.write(merged), "run " + runId + " at " + runAt);
        return new Requested(runId, name, false);
    }

    /**
     * The request as an idempotency key remembers it ({@code {"params": …, "at": …}}): the same key with
     * another request is refused.
     */
    public static String requestJson(Map<String, Object> params, Instant at) {
        Map<String, Object> asSent = new LinkedHashMap<>();
        asSent.put("params", params);
        asSent.put("at", at == null ? null : at.toString());
        return Json.write(asSent);
    }

    /**
     * Refuses an idempotency key that is empty, longer than {@value #MAX_KEY_LENGTH} characters, or not
     * printable ASCII without commas (it travels in an HTTP header); null is no key.
     */
    public static void checkIdempotencyKey(String key) {
        if (key == null) {
            return;
        }
        if (key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
            throw new RefusedException(
                    Refusal.INVALID_IDEMPOTENCY_KEY,
                    "'Idempotency-Key' must be 1 to " + MAX_KEY_LENGTH + " characters long");
        }
        if (!key.chars().allMatch(ch -> ch >= 0x20 && ch <= 0x7e && ch != ',')) {
            throw new RefusedException(
                    Refusal.INVALID_IDEMPOTENCY_KEY,
                    "'Idempotency-Key' must be printable ASCII without commas, e.g. a UUID");
        }
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

package gg.starpets.scheduler;

import static gg.starpets.scheduler.TaskCommandSql.CANCEL;
import static gg.starpets.scheduler.TaskCommandSql.DELETE;
import static gg.starpets.scheduler.TaskCommandSql.INSERT_API;
import static gg.starpets.scheduler.TaskCommandSql.LOCK;
import static gg.starpets.scheduler.TaskCommandSql.NOTIFY;
import static gg.starpets.scheduler.TaskCommandSql.PAUSE;
import static gg.starpets.scheduler.TaskCommandSql.RESUME;
import static gg.starpets.scheduler.TaskCommandSql.RUN_EXISTS;
import static gg.starpets.scheduler.TaskCommandSql.TRIGGER;
import static gg.starpets.scheduler.TaskCommandSql.UPDATE_API;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;
import javax.sql.DataSource;

/**
 * Operators' changes to tasks (the management API, and a run's admission pausing its task): create,
 * edit, delete, pause, resume, trigger, cancel. The configuration's are {@link TaskConfigSync}'s, the
 * heartbeat's {@link TaskHousekeeping}'s. Each is one transaction that also writes its {@link TaskEvents audit event}; edits
 * are conditional on the task's version (the API's ETag). A change reaches every instance at its next
 * claim (definitions are read at the claim) — a run in progress finishes under the definition it
 * started with unless cancelled.
 */
public final class TaskCommands {

    /** Why a command was refused; the API maps each to a status and a stable code. */
    public enum Refusal {
        TASK_NOT_FOUND,
        RUN_NOT_FOUND,
        TASK_EXISTS,
        FROM_CONFIGURATION,
        VERSION_MISMATCH,
        RUNNING,
        /** A run is in progress: the task cannot be deleted now. */
        BUSY,
        NOT_RUNNING,
        DISABLED,
        QUARANTINED,
        /** The Idempotency-Key of a one-off run was used before with another request. */
        IDEMPOTENCY_KEY_REUSED,
        /** A one-off run has started (or ended): it can no longer be withdrawn. */
        RUN_STARTED,
        // Backfills (Backfills): no such backfill; a once task; a range of too many slots; a bad range.
        BACKFILL_NOT_FOUND,
        NOT_BACKFILLABLE,
        TOO_MANY_SLOTS,
        INVALID_RANGE,
        MAX_PARALLEL_UNSUPPORTED,
        // Run after (RunAfterRepository): a loop; an upstream that is no task; deleting a task others run after.
        RUN_AFTER_LOOP,
        UNKNOWN_UPSTREAM,
        HAS_DOWNSTREAM,
        // The service's rules for tasks written by operators and applications (TaskRules): a handler such
        // tasks may not use; params or a schedule beyond the bounds; no room for one more such task.
        HANDLER_NOT_ALLOWED,
        PARAMS_TOO_LARGE,
        SCHEDULE_TOO_FREQUENT,
        TASK_LIMIT_REACHED,
        /** An Idempotency-Key that is empty, too long, or not printable ASCII without commas. */
        INVALID_IDEMPOTENCY_KEY,
        /** A pause's reason longer than {@link #MAX_REASON_LENGTH}. */
        REASON_TOO_LONG
    }

    /** The longest reason a pause may give. */
    public static final int MAX_REASON_LENGTH = 500;

    public static final class RefusedException extends RuntimeException {
        private final Refusal refusal;

        public RefusedException(Refusal refusal, String message) {
            super(message);
            this.refusal = refusal;
        }

        public Refusal refusal() {
            return refusal;
        }
    }

    private final DataSource dataSource;

    public TaskCommands(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    // ---- from operators ----------------------------------------------------------------------

    /**
     * Creates a task over the API: due at {@link NextRunPlan#firstRun} (its start-at, a cron's next
     * time, a fixed delay at once; trigger it to run now). Like every
     * command that changes a task, returns the task as its transaction left it, read in that transaction.
     */
    public TaskViews.TaskSnapshot create(TaskDefinition d, String actor) {
        return create(d, actor, NOTHING_ELSE);
    }

    /**
     * Writes of another part of the service that belong to the same change (a task's notify settings, in
     * their own table), done in the command's transaction right after the task is written.
     */
    @FunctionalInterface
    public interface AlsoWrite {
        void write(Connection c) throws SQLException;
    }

    private static final AlsoWrite NOTHING_ELSE = c -> {};

    /** {@link #create(TaskDefinition, String)}, with {@code also} in the same transaction. */
    public TaskViews.TaskSnapshot create(TaskDefinition d, String actor, AlsoWrite also) {
        return inTransaction(c -> {
            Instant now = DbClock.now(c);
            RunAfterRepository.check(c, List.of(d));
            try (var st = TaskColumns.bind(INSERT_API.prepare(c), d).set("next", NextRunPlan.firstRun(d, now))) {
                if (st.executeUpdate() == 0) {
                    throw new RefusedException(Refusal.TASK_EXISTS, "A task named '" + d.name() + "' exists");
                }
            }
            TaskEvents.record(c, d.name(), actor, AuditAction.CREATED, null, TaskColumns.auditJson(d), null);
            also.write(c);
            TaskRepository.notifyTasksChanged(c);
            return TaskViews.find(c, d.name());
        });
    }

    /** Replaces an API task's definition (the caller merged its changes in); {@code version} null: any. */
    public TaskViews.TaskSnapshot update(String name, Long version, TaskDefinition d, String actor) {
        return update(name, version, stored -> d, actor);
    }

    /**
     * Replaces an API task's definition with {@code change} applied to the stored one, in the same
     * transaction (no other change can come between the read and the write); {@code version} null:
     * any. The change is applied, and may refuse, before the version and the source are checked.
     */
    public TaskViews.TaskSnapshot update(
            String name, Long version, UnaryOperator<TaskDefinition> change, String actor) {
        return update(name, version, change, actor, NOTHING_ELSE);
    }

    /** {@link #update(String, Long, UnaryOperator, String)}, with {@code also} in the same transaction. */
    public TaskViews.TaskSnapshot update(
            String name, Long version, UnaryOperator<TaskDefinition> change, String actor, AlsoWrite also) {
        return inTransaction(c -> {
            TaskDefinition d = change.apply(existing(c, name, null).definition());
            StoredTask before = editable(c, name, version);
            RunAfterRepository.check(c, List.of(d));
            Instant now = DbClock.now(c);
            // A start-at that has passed changes nothing (it was a first run's).
            boolean rescheduled = !before.definition().schedule().equals(d.schedule())
                    || !before.definition().timeZone().equals(d.timeZone())
                    || (d.startAt() != null && d.startAt().isAfter(now))
                    // A one-time task given another time runs at it (at once if it has passed).
                    || (d.once()
                            && !Objects.equals(d.startAt(), before.definition().startAt()));
            try (var st = TaskColumns.bind(UPDATE_API.prepare(c), d)
                    .set("rescheduled", rescheduled)
                    .set("next", NextRunPlan.afterScheduleChange(d, now))
                    .set("id", before.id())) {
                st.executeUpdate();
            }
            TaskEvents.record(
                    c,
                    name,
                    actor,
                    AuditAction.UPDATED,
                    TaskColumns.auditJson(before.definition()),
                    TaskColumns.auditJson(d),
                    null);
            also.write(c);
            TaskRepository.notifyTasksChanged(c);
            return TaskViews.find(c, name);
        });
    }

    /** Deletes an API task and its history (its events stay); refused while a run is in progress. */
    public void delete(String name, Long version, String actor) {
        inTransaction(c -> {
            StoredTask before = editable(c, name, version);
            if (before.running()) {
                throw new RefusedException(Refusal.BUSY, "Task '" + name + "' has a run in progress; cancel it first");
            }
            RunAfterRepository.checkDelete(c, name);
            try (var st = DELETE.prepare(c).set("id", before.id())) {
                st.executeUpdate();
            }
            TaskEvents.record(
                    c, name, actor, AuditAction.DELETED, TaskColumns.auditJson(before.definition()), null, null);
            return null;
        });
    }

    /** Pauses a task (no new run starts; one in progress goes on), until resumed or {@code until}. */
    public TaskViews.TaskSnapshot pause(String name, Long version, Instant until, String reason, String actor) {
        if (reason != null && reason.length() > MAX_REASON_LENGTH) {
            throw new RefusedException(
                    Refusal.REASON_TOO_LONG, "'reason' is at most " + MAX_REASON_LENGTH + " characters");
        }
        return inTransaction(c -> {
            StoredTask task = existing(c, name, version);
            try (var st =
                    PAUSE.prepare(c).set("until", until).set("reason", reason).set("id", task.id())) {
                st.executeUpdate();
            }
            Map<String, Object> after = new LinkedHashMap<>();
            after.put("pausedUntil", until == null ? null : until.toString());
            after.put("reason", reason);
            TaskEvents.record(c, name, actor, AuditAction.PAUSED, null, Json.write(after), reason);
            return TaskViews.find(c, name);
        });
    }

    /** Resumes a paused or quarantined task. */
    public TaskViews.TaskSnapshot resume(String name, Long version, String actor) {
        return inTransaction(c -> {
            StoredTask task = existing(c, name, version);
            try (var st = RESUME.prepare(c).set("id", task.id())) {
                st.executeUpdate();
            }
            TaskEvents.record(
                    c, name, actor, AuditAction.RESUMED, null, null, task.quarantined() ? "from quarantine" : null);
            TaskRepository.notifyTasksChanged(c);
            return TaskViews.find(c, name);
        });
    }

    /**
     * Runs a task now. While a run is in progress: refused, unless {@code queue}, when it runs again as
     * soon as that one ends. A paused task runs once; a disabled or quarantined one does not. Returns
     * the task as it is after the trigger, read in the same transaction.
     */
    public TaskViews.TaskSnapshot trigger(String name, boolean queue, String actor) {
        return inTransaction(c -> {
            boolean queued;
            try (var st = TRIGGER.prepare(c).set("name", name).set("queue", queue);
                    ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    throw triggerRefused(locked(c, name), name);
                }
                queued = rs.getBoolean("queued");
            }
            TaskEvents.record(
                    c, name, actor, AuditAction.TRIGGERED, null, null, queued ? "queued after the run" : null);
            TaskRepository.notifyTasksChanged(c);
            return TaskViews.find(c, name);
        });
    }

    /** Why the trigger left the task alone (running, unless it changed since: it was when the trigger ran). */
    private static RefusedException triggerRefused(StoredTask task, String name) {
        if (task == null) {
            return notFound(name);
        }
        if (!task.definition().enabled() || task.retired()) {
            return new RefusedException(Refusal.DISABLED, "Task '" + name + "' is disabled");
        }
        if (task.quarantined()) {
            return new RefusedException(Refusal.QUARANTINED, "Task '" + name + "' is quarantined; resume it first");
        }
        return new RefusedException(
                Refusal.RUNNING, "Task '" + name + "' is running; ask with queue=true to run it again after");
    }

    /** Asks the instance running this run to stop it; it is recorded CANCELLED. Returns the task's name. */
    public String cancel(long runId, String actor) {
        return inTransaction(c -> {
            String task;
            try (var st = CANCEL.prepare(c).set("run", runId);
                    ResultSet rs = st.executeQuery()) {
                task = rs.next() ? rs.getString("name") : null;
            }
            if (task == null) {
                try (var st = RUN_EXISTS.prepare(c).set("run", runId);
                        ResultSet rs = st.executeQuery()) {
                    if (!rs.next()) {
                        throw new RefusedException(Refusal.RUN_NOT_FOUND, "No run " + runId);
                    }
                    throw new RefusedException(
                            Refusal.NOT_RUNNING, "Run " + runId + " is not in progress (" + rs.getString(2) + ")");
                }
            }
            TaskEvents.record(c, task, actor, AuditAction.CANCELLED, null, null, "run " + runId);
            try (var st = NOTIFY.prepare(c)
                            .set("channel", SessionWatch.CANCEL_CHANNEL)
                            .set("payload", Long.toString(runId));
                    ResultSet rs = st.executeQuery()) {
                rs.next();
            }
            return task;
        });
    }

    /** The task as stored, or null. */
    public StoredTask find(String name) {
        return inTransaction(c -> locked(c, name));
    }

    // ---- helpers -----------------------------------------------------------------------------

    private StoredTask existing(Connection c, String name, Long version) throws SQLException {
        StoredTask task = locked(c, name);
        if (task == null) {
            throw notFound(name);
        }
        if (version != null && version != task.version()) {
            throw new RefusedException(
                    Refusal.VERSION_MISMATCH,
                    "Task '" + name + "' is at version " + task.version() + ", not " + version + ": read it again");
        }
        return task;
    }

    static RefusedException notFound(String name) {
        return new RefusedException(Refusal.TASK_NOT_FOUND, "No task named '" + name + "'");
    }

    private StoredTask editable(Connection c, String name, Long version) throws SQLException {
        StoredTask task = existing(c, name, version);
        if (!"API".equals(task.source())) {
            throw new RefusedException(
                    Refusal.FROM_CONFIGURATION,
                    "Task '" + name + "' comes from the configuration files: change it there (the API can pause,"
                            + " resume, trigger and cancel it)");
        }
        return task;
    }

    /** The task as stored, its row locked until the transaction ends; null if there is none. */
    static StoredTask locked(Connection c, String name) throws SQLException {
        try (var st = LOCK.prepare(c).set("name", name);
                ResultSet rs = st.executeQuery()) {
            if (!rs.next()) {
                return null;
            }
            return new StoredTask(
                    rs.getLong("id"),
                    TaskColumns.definition(rs),
                    rs.getString("source"),
                    rs.getLong("version"),
                    rs.getBoolean("running"),
                    rs.getBoolean("paused"),
                    rs.getBoolean("quarantined"),
                    rs.getBoolean("retired"));
        }
    }

    private <T> T inTransaction(Transactions.Command<T> work) {
        return Transactions.command(dataSource, work);
    }
}

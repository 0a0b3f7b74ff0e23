package gg.starpets.scheduler;

import gg.starpets.scheduler.RunRepository.RunFilter;
import gg.starpets.scheduler.RunRepository.RunRow;
import gg.starpets.scheduler.TaskCommands.RefusedException;
import gg.starpets.scheduler.TaskEvents.TaskEvent;
import gg.starpets.scheduler.TaskViews.TaskView;
import java.sql.Connection;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import javax.sql.DataSource;

/**
 * StarPets from Java: define, pause, resume, trigger and read tasks and their runs, with the same rules
 * and the same audit trail as the HTTP API, because it goes through the same commands ({@link TaskCommands},
 * {@link OneOffRuns}) and reads ({@link TaskViews}, {@link RunRepository}, {@link TaskEvents}), checked by the
 * same {@link TaskRules}. Tasks it creates are such tasks as the API creates (source {@code API}): they
 * can be edited and deleted here or over the API, and configuration tasks cannot.
 *
 * <p>Every change is one transaction of its own, with its audit event naming {@link #actor()}; give
 * another with {@link #as(String)}. {@link #enqueue(Connection, String, Map, Instant)} is the exception:
 * it writes in the caller's transaction. A refusal is a {@link RefusedException} whose
 * {@link RefusedException#refusal() refusal} says why (the HTTP API answers each with its own status and
 * code), or a {@link TaskDefinition.InvalidTaskException} for an invalid definition or params; nothing is
 * written then. A database that cannot be reached is a {@link SchedulerException}.
 *
 * <p>In the service it is a bean; for example, in a Spring component:
 *
 * <pre>{@code
 * StarPets billing = starPets.as("billing");
 * billing.create(TaskDefinition.of("invoice-digest", "http", "0 7 * * *", "Europe/Berlin",
 *         Duration.ofMinutes(5), true, Map.of("url", "https://billing.example/digest")));
 * billing.pause("invoice-digest", null, Instant.parse("2026-12-27T00:00:00Z"), "holidays");
 * long runId = billing.run("invoice-digest", Map.of("month", "2026-11"), null, "digest-2026-11").runId();
 * RunStatus status = billing.findRun(runId).orElseThrow().status();
 * }</pre>
 *
 * <p>And with the application's own work, in one transaction:
 *
 * <pre>{@code
 * try (Connection c = dataSource.getConnection()) {
 *     c.setAutoCommit(false);
 *     insertOrder(c, order);
 *     starPets.enqueue(c, "send-receipt", Map.of("order", order.id()));
 *     c.commit(); // the run exists if and only if the order does
 * }
 * }</pre>
 */
public final class StarPets {

    private final TaskCommands commands;
    private final OneOffRuns oneOffRuns;
    private final TaskViews views;
    private final RunRepository runs;
    private final TaskEvents events;
    private final TaskRules rules;
    private final String actor;

    /**
     * @param dataSource the database of the StarPets tables (each change takes one of its connections)
     * @param rules what is checked before a task is written or a run asked for; the service's bean uses
     *     the HTTP API's ({@code web.ApiTaskRules}); {@link TaskRules#NONE} checks only what a
     *     definition checks itself
     * @param actor who makes the changes, as the audit trail names them
     */
    public StarPets(DataSource dataSource, TaskRules rules, String actor) {
        this(
                new TaskCommands(dataSource),
                new OneOffRuns(dataSource),
                new TaskViews(dataSource),
                new RunRepository(dataSource),
                new TaskEvents(dataSource),
                rules,
                actor);
    }

    private StarPets(
            TaskCommands commands,
            OneOffRuns oneOffRuns,
            TaskViews views,
            RunRepository runs,
            TaskEvents events,
            TaskRules rules,
            String actor) {
        if (actor == null || actor.isBlank()) {
            throw new IllegalArgumentException("the actor names who makes the changes in the audit trail");
        }
        this.commands = commands;
        this.oneOffRuns = oneOffRuns;
        this.views = views;
        this.runs = runs;
        this.events = events;
        this.rules = Objects.requireNonNull(rules, "rules");
        this.actor = actor;
    }

    /** The same facade, making its changes as {@code actor} (the audit trail's name for who made them). */
    public StarPets as(String actor) {
        return new StarPets(commands, oneOffRuns, views, runs, events, rules, actor);
    }

    /** Who makes this facade's changes in the audit trail. */
    public String actor() {
        return actor;
    }

    // ---- define -------------------------------------------------------------------------------

    /**
     * Creates a task ({@code POST /tasks}): due at its first time (its start-at, a cron's next time, a
     * fixed delay at once). Refused when one of that name exists ({@code TASK_EXISTS}), when the rules
     * refuse it, or when there is no room for one more task.
     *
     * @return the task as its transaction left it
     */
    public TaskView create(TaskDefinition definition) {
        rules.checkTask(definition);
        rules.checkRoomForOneMore(views.countApiTasks());
        return only(commands.create(definition, actor), definition.name());
    }

    /**
     * Changes a task ({@code PATCH /tasks/{name}}): {@code change} is given the stored definition and
     * returns the new one (the same name), in the transaction that writes it, so that no other change
     * comes between. For example {@code update("digest", null, d -> d.withPriority(10))}.
     *
     * @param version the version the caller read ({@link TaskView#version()}; else {@code VERSION_MISMATCH}),
     *     or null for any
     */
    public TaskView update(String name, Long version, UnaryOperator<TaskDefinition> change) {
        return only(
                commands.update(
                        name,
                        version,
                        stored -> {
                            TaskDefinition changed = change.apply(stored);
                            if (!name.equals(changed.name())) {
                                throw new TaskDefinition.InvalidTaskException(
                                        name, "a task cannot be renamed (to '" + changed.name() + "')");
                            }
                            rules.checkTask(changed);
                            return changed;
                        },
                        actor),
                name);
    }

    /**
     * Deletes a task and its runs ({@code DELETE /tasks/{name}}; its audit trail stays). Refused while a
     * run is in progress ({@code BUSY}), for a configuration task, or while others run after it.
     */
    public void delete(String name, Long version) {
        commands.delete(name, version, actor);
    }

    // ---- pause, resume ------------------------------------------------------------------------

    /**
     * Pauses a task ({@code POST /tasks/{name}/pause}): no new run starts (one in progress goes on) until
     * it is resumed, or until {@code until} when given. {@code reason} (null, or at most
     * {@value TaskCommands#MAX_REASON_LENGTH} characters) goes into the audit trail.
     */
    public TaskView pause(String name, Long version, Instant until, String reason) {
        return only(commands.pause(name, version, until, reason, actor), name);
    }

    /** Resumes a paused or quarantined task ({@code POST /tasks/{name}/resume}). */
    public TaskView resume(String name, Long version) {
        return only(commands.resume(name, version, actor), name);
    }

    // ---- trigger ------------------------------------------------------------------------------

    /**
     * Runs a task now as its schedule would ({@code POST /tasks/{name}/trigger}): refused while a run is
     * in progress ({@code RUNNING}) unless {@code queue}, when it runs right after that one.
     */
    public TaskView trigger(String name, boolean queue) {
        return only(commands.trigger(name, queue, actor), name);
    }

    /**
     * Asks for a one-off run of a task ({@code POST /tasks/{name}/runs}) at {@code at} (null: now), with
     * {@code params} (null: none) merged over the task's, checked by its handler. With an
     * {@code idempotencyKey} (null: none), asking again with the same key and request answers the same
     * run ({@link OneOffRuns.Requested#replayed()}); the same key with another request is refused
     * ({@code IDEMPOTENCY_KEY_REUSED}). One transaction of its own.
     */
    public OneOffRuns.Requested run(String task, Map<String, Object> params, Instant at, String idempotencyKey) {
        return oneOffRuns.request(
                task, params, at, idempotencyKey, OneOffRuns.requestJson(params, at), check(params), actor);
    }

    /**
     * Asks for a one-off run of a task at {@code at} (null: now) with {@code params} merged over the
     * task's, in the caller's transaction on {@code connection}: the run exists if and only if that
     * transaction commits, and the scheduler starts it only after. The same checks and audit event as
     * {@link #run}, written in that transaction; nothing is committed, rolled back or closed here.
     *
     * <p>The connection must not be in auto-commit mode ({@link IllegalStateException}): each statement
     * would then commit on its own, and the run could not stand or fall with the caller's work. On a
     * refusal or an error, what it wrote is rolled back to a savepoint taken first: the caller's
     * transaction stays usable, and the caller decides whether to commit its own work. The task's row
     * stays locked until the caller's transaction ends (its runs do not start meanwhile): keep the
     * transaction short.
     *
     * @param connection a connection to the StarPets database, in a transaction of the caller's
     * @return the run's id
     */
    public long enqueue(Connection connection, String task, Map<String, Object> params, Instant at) {
        return OneOffRuns.request(connection, task, params, at, check(params), actor)
                .runId();
    }

    /** {@link #enqueue(Connection, String, Map, Instant)} for now. */
    public long enqueue(Connection connection, String task, Map<String, Object> params) {
        return enqueue(connection, task, params, null);
    }

    /**
     * Withdraws a pending one-off run ({@code DELETE /runs/{id}}): it ends CANCELLED without having
     * started; refused once it has started ({@code RUN_STARTED}). Returns its task's name.
     */
    public String withdraw(long runId) {
        return oneOffRuns.withdraw(runId, actor);
    }

    /**
     * Stops a run in progress ({@code POST /runs/{id}/cancel}): its instance stops it and records it
     * CANCELLED. Returns its task's name.
     */
    public String cancel(long runId) {
        return commands.cancel(runId, actor);
    }

    // ---- query --------------------------------------------------------------------------------

    /** Every task ({@code GET /tasks}), by name. */
    public List<TaskView> tasks() {
        return views.find(null).tasks();
    }

    /** A task ({@code GET /tasks/{name}}), or empty when there is none of that name. */
    public Optional<TaskView> findTask(String name) {
        return views.find(name).tasks().stream().findFirst();
    }

    /** A run ({@code GET /runs/{id}}), or empty. */
    public Optional<RunRow> findRun(long runId) {
        return runs.findById(runId);
    }

    /**
     * Runs, newest first ({@code GET /runs}): every field of {@code filter} that is not null narrows them,
     * and at most its limit are read (the HTTP API allows 500 a page). For example {@code new RunFilter("digest", RunStatus.FAILED, null,
     * null, 20, null, null)}.
     */
    public List<RunRow> runs(RunFilter filter) {
        return runs.find(filter);
    }

    /** A task's audit trail, newest first ({@code GET /tasks/{name}/events}): ids below {@code before} when given. */
    public List<TaskEvent> events(String task, Long before, int limit) {
        return events.find(task, before, limit);
    }

    /** As the HTTP API checks a one-off run's params: given ones as a task's, else the task's as configured. */
    private Consumer<TaskDefinition> check(Map<String, Object> params) {
        boolean given = params != null && !params.isEmpty();
        return d -> rules.checkRun(d, given);
    }

    private static TaskView only(TaskViews.TaskSnapshot snapshot, String name) {
        return snapshot.tasks().stream().findFirst().orElseThrow(() -> TaskCommands.notFound(name));
    }
}

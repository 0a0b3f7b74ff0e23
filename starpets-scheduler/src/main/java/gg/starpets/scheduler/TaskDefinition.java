package gg.starpets.scheduler;

import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A task: its unique name, the handler it calls, its schedule and limits, and what happens when a
 * run fails ({@link RetryPolicy}) or a due time is missed ({@link MisfirePolicy}).
 *
 * @param jitter up to this much random delay is added to each due time (zero: none)
 * @param startAt when a new task runs first, instead of its schedule's rule ({@code NextRunPlan.firstRun}); null:
 *     none. Not kept in the row: it only places the first run (and an edit's, over the API). A one-time
 *     task's {@code at} ({@link #withAt}), which is kept ({@code tasks.once_at})
 * @param cost the units of its instance's capacity ({@code SCHEDULER_MAX_CONCURRENT_RUNS}) a run of it uses
 *     while its handler executes: 1 to {@value #MAX_COST}, default 1 (e.g. 4 for a heavy {@code exec} or
 *     {@code cpu} task)
 * @param runAfter the task whose runs' ends start this one ({@code run-after}); null: none
 * @param priority when its instance's capacity is short, which due task starts first: higher first,
 *     {@value #MIN_PRIORITY} to {@value #MAX_PRIORITY}, default 0; equal priorities by due time; a task
 *     due longer ago than {@code SCHEDULER_PRIORITY_AGING} goes ahead of newer ones whatever their priority
 * @param concurrencyGroup the group whose limits its runs count in ({@code concurrency-group}); null: none
 *     ({@link GroupRepository})
 * @param maxConcurrent with {@code overlap: ALLOW} ({@code max-concurrent}), how many runs of the task may be in
 *     progress at once across all instances, 1 to {@value #MAX_CONCURRENT}; null for every other overlap policy
 */
public record TaskDefinition(
        String name,
        String handler,
        String schedule,
        ZoneId timeZone,
        Duration timeout,
        boolean enabled,
        Map<String, Object> params,
        RetryPolicy retry,
        MisfirePolicy misfire,
        Duration jitter,
        Instant startAt,
        Overlap overlap,
        int cost,
        RunAfter runAfter,
        int priority,
        String concurrencyGroup,
        Integer maxConcurrent) {

    /** The highest {@code max-concurrent} a task may have (the database checks it too, V24). */
    public static final int MAX_CONCURRENT = 1000;

    /** The lowest and highest {@code priority} a task may have (the database checks them too, V21). */
    public static final int MIN_PRIORITY = -100;

    public static final int MAX_PRIORITY = 100;

    /** The highest {@code cost} a task may have (the database checks it too, V17). */
    public static final int MAX_COST = 1000;

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,99}");

    /**
     * The longest duration a definition takes (timeout, interval, back-off, misfire threshold,
     * catch-up window, jitter): far past any real one, and within every unit they are kept and
     * computed in (a timer in nanoseconds overflows past 292 years).
     */
    public static final Duration LONGEST = Duration.ofDays(36_500);

    /**
     * A duration kept in milliseconds: refused unless it is whole milliseconds ({@code 500us} would be
     * kept as 0, and read back as something else) and at most {@link #LONGEST}.
     */
    static Duration inMillis(String what, Duration d) {
        if (d != null && d.toNanos() % 1_000_000 != 0) {
            throw new IllegalArgumentException(what + " must be whole milliseconds (it is kept in milliseconds), not "
                    + d.toString().substring(2).toLowerCase(Locale.ROOT));
        }
        if (d != null && d.compareTo(LONGEST) > 0) {
            throw new IllegalArgumentException(what + " must be at most " + LONGEST.toDays() + " days");
        }
        return d;
    }

    public TaskDefinition {
        params = params == null ? Map.of() : Map.copyOf(params);
        misfire = misfire == null ? MisfirePolicy.DEFAULT : misfire;
        jitter = jitter == null ? Duration.ZERO : jitter;
        overlap = overlap == null ? Overlap.SKIP : overlap;
        if (cost < 1 || cost > MAX_COST) {
            throw new InvalidTaskException(name, "the cost must be between 1 and " + MAX_COST + ", not " + cost);
        }
        if (priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
            throw new InvalidTaskException(
                    name,
                    "the priority must be between " + MIN_PRIORITY + " and " + MAX_PRIORITY + ", not " + priority);
        }
        if (concurrencyGroup != null && !GroupRepository.validName(concurrencyGroup)) {
            throw new InvalidTaskException(name, GroupRepository.nameRule(concurrencyGroup));
        }
        checkAllow(name, overlap, maxConcurrent, concurrencyGroup);
    }

    /**
     * {@code overlap: ALLOW} needs {@code max-concurrent} (1 to {@value #MAX_CONCURRENT}), which no other policy
     * takes; and no concurrency group (a group's slot is held by a task, and an ALLOW task has several runs).
     */
    private static void checkAllow(String name, Overlap overlap, Integer maxConcurrent, String concurrencyGroup) {
        if (overlap == Overlap.ALLOW) {
            if (maxConcurrent == null) {
                throw new InvalidTaskException(
                        name,
                        "overlap ALLOW needs max-concurrent, the most runs of the task at once (1 to " + MAX_CONCURRENT
                                + ")");
            }
            if (maxConcurrent < 1 || maxConcurrent > MAX_CONCURRENT) {
                throw new InvalidTaskException(
                        name, "max-concurrent must be between 1 and " + MAX_CONCURRENT + ", not " + maxConcurrent);
            }
            if (concurrencyGroup != null) {
                throw new InvalidTaskException(
                        name,
                        "overlap ALLOW does not go with a concurrency group: a group's limits count one run"
                                + " per task");
            }
        } else if (maxConcurrent != null) {
            throw new InvalidTaskException(
                    name, "max-concurrent is for overlap ALLOW only (this task's overlap is " + overlap + ")");
        }
    }

    /**
     * What a slot of a cron task that comes due while a run of the task is in progress does. {@code SKIP}
     * (the default): nothing then, the run goes on alone, no second one starts; the slot is a missed time,
     * and the misfire policy decides what becomes of it when the run ends ({@code RUN_ONCE}: one run at
     * once, late; {@code SKIP}: a MISSED run, unless within the threshold; {@code CATCH_UP}: each in its
     * window). {@code BUFFER_ONE}: one run right after the run ends, whatever the misfire policy, for the
     * first such slot (several give one run; no MISSED row). {@code REPLACE}: the run in progress is
     * cancelled (its owner is asked as an operator's cancel asks it, the run ends CANCELLED) and the new
     * run starts once it has ended. A fixed delay counts from the end of a run: never due during one.
     * {@code ALLOW} (with {@code max-concurrent: N}, for idempotent tasks): a slot due while runs are in
     * progress starts another run, up to N at once across all instances, each with its own fence and
     * lease; the schedule moves on at each start (a fixed delay counts from each start), and a slot due
     * while N run waits for one of them to end.
     */
    public enum Overlap {
        SKIP,
        BUFFER_ONE,
        REPLACE,
        ALLOW;

        /** The policy written {@code text} (any case; null or blank: SKIP); refuses others naming the task. */
        public static Overlap of(String task, String text) {
            if (text == null || text.isBlank()) {
                return SKIP;
            }
            String name = text.strip().toUpperCase(Locale.ROOT);
            try {
                return valueOf(name);
            } catch (IllegalArgumentException e) {
                throw new InvalidTaskException(
                        task, "overlap must be SKIP, BUFFER_ONE, REPLACE or ALLOW, not '" + text.strip() + "'");
            }
        }
    }

    /** Checks everything that can be checked without the database; the message names the task. */
    public static TaskDefinition of(
            String name,
            String handler,
            String schedule,
            String timeZone,
            Duration timeout,
            Boolean enabled,
            Map<String, Object> params) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new InvalidTaskException(
                    name,
                    "the name must be 1-100 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit");
        }
        if (handler == null || handler.isBlank()) {
            throw new InvalidTaskException(name, "no handler is given");
        }
        ZoneId zone;
        try {
            zone = ZoneId.of(timeZone == null || timeZone.isBlank() ? "UTC" : timeZone);
        } catch (DateTimeException e) {
            throw new InvalidTaskException(name, "unknown time zone '" + timeZone + "'");
        }
        try {
            if (!(Schedule.parse(schedule, zone) instanceof Schedule.Once)) {
                Schedule.parse(schedule, zone).next(Instant.now());
            }
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new InvalidTaskException(name, "invalid schedule: " + e.getMessage());
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new InvalidTaskException(name, "the timeout must be positive, not " + timeout);
        }
        if (timeout.compareTo(LONGEST) > 0) {
            throw new InvalidTaskException(name, "the timeout must be at most " + LONGEST.toDays() + " days");
        }
        String stripped = schedule.strip();
        return new TaskDefinition(
                name,
                handler,
                Schedule.ONCE.equalsIgnoreCase(stripped) ? Schedule.ONCE : stripped,
                zone,
                timeout,
                enabled == null || enabled,
                params,
                null,
                null,
                null,
                null,
                null,
                1,
                null,
                0,
                null,
                null);
    }

    public TaskDefinition withRetry(RetryPolicy retry) {
        return copy(
                params,
                retry,
                misfire,
                jitter,
                startAt,
                overlap,
                cost,
                runAfter,
                priority,
                concurrencyGroup,
                maxConcurrent);
    }

    public TaskDefinition withMisfire(MisfirePolicy misfire) {
        return copy(
                params,
                retry,
                misfire,
                jitter,
                startAt,
                overlap,
                cost,
                runAfter,
                priority,
                concurrencyGroup,
                maxConcurrent);
    }

    public TaskDefinition withJitter(Duration jitter) {
        if (jitter != null && jitter.isNegative()) {
            throw new InvalidTaskException(name, "the jitter must not be negative");
        }
        try {
            inMillis("the jitter", jitter);
        } catch (IllegalArgumentException e) {
            throw new InvalidTaskException(name, e.getMessage());
        }
        return copy(
                params,
                retry,
                misfire,
                jitter,
                startAt,
                overlap,
                cost,
                runAfter,
                priority,
                concurrencyGroup,
                maxConcurrent);
    }

    /** With {@code overlap}; an ALLOW task's max-concurrent is kept, and goes with any other policy. */
    public TaskDefinition withOverlap(Overlap overlap) {
        Integer maxConcurrent = overlap == Overlap.ALLOW ? this.maxConcurrent : null;
        return copy(
                params,
                retry,
                misfire,
                jitter,
                startAt,
                overlap,
                cost,
                runAfter,
                priority,
                concurrencyGroup,
                maxConcurrent);
    }

    /**
     * With {@code overlap} and, for {@code ALLOW}, {@code maxConcurrent} runs at once (null: none given); refuses
     * a combination that makes no sense, naming the task.
     */
    public TaskDefinition withOverlap(Overlap overlap, Integer maxConcurrent) {
        return copy(
                params,
                retry,
                misfire,
                jitter,
                startAt,
                overlap,
                cost,
                runAfter,
                priority,
                concurrencyGroup,
                maxConcurrent);
    }

    public TaskDefinition withParams(Map<String, Object> params) {
        return copy(
                params,
                retry,
                misfire,
                jitter,
                startAt,
                overlap,
                cost,
                runAfter,
                priority,
                concurrencyGroup,
                maxConcurrent);
    }

    public TaskDefinition withCost(int cost) {
        return copy(
                params,
                retry,
                misfire,
                jitter,
                startAt,
                overlap,
                cost,
                runAfter,
                priority,
                concurrencyGroup,
                maxConcurrent);
    }

    public TaskDefinition withPriority(int priority) {
        return copy(
                params,
                retry,
                misfire,
                jitter,
                startAt,
                overlap,
                cost,
                runAfter,
                priority,
                concurrencyGroup,
                maxConcurrent);
    }

    /** In the group {@code group} (null or blank: none). */
    public TaskDefinition withConcurrencyGroup(String group) {
        String concurrencyGroup = group == null || group.isBlank() ? null : group.strip();
        return copy(
                params,
                retry,
                misfire,
                jitter,
                startAt,
                overlap,
                cost,
                runAfter,
                priority,
                concurrencyGroup,
                maxConcurrent);
    }

    public TaskDefinition withStartAt(Instant startAt) {
        return copy(
                params,
                retry,
                misfire,
                jitter,
                startAt,
                overlap,
                cost,
                runAfter,
                priority,
                concurrencyGroup,
                maxConcurrent);
    }

    /** This definition with its parts a {@code withX} may change: the one place that copies it. */
    private TaskDefinition copy(
            Map<String, Object> params,
            RetryPolicy retry,
            MisfirePolicy misfire,
            Duration jitter,
            Instant startAt,
            Overlap overlap,
            int cost,
            RunAfter runAfter,
            int priority,
            String concurrencyGroup,
            Integer maxConcurrent) {
        return new TaskDefinition(
                name,
                handler,
                schedule,
                timeZone,
                timeout,
                enabled,
                params,
                retry,
                misfire,
                jitter,
                startAt,
                overlap,
                cost,
                runAfter,
                priority,
                concurrencyGroup,
                maxConcurrent);
    }

    /**
     * Starts this task once each time a run of {@code runAfter.task()} ends as {@code runAfter.when()}
     * says ({@link RunAfter}); null: none. A task that runs after another needs no schedule of its own:
     * written without one it is stored as {@code once} without an {@code at}, which never comes due by
     * itself. With a schedule it also runs on it.
     */
    public TaskDefinition withRunAfter(RunAfter runAfter) {
        if (runAfter != null && runAfter.task().equals(name)) {
            throw new InvalidTaskException(name, "run-after names the task itself: a loop");
        }
        return copy(
                params,
                retry,
                misfire,
                jitter,
                startAt,
                overlap,
                cost,
                runAfter,
                priority,
                concurrencyGroup,
                maxConcurrent);
    }

    /**
     * {@code run-after: {task, when}}: which task's run ends start this one, and which ends.
     * {@code SUCCEEDED}: a run that SUCCEEDED; {@code FAILED}: one that FAILED, TIMED_OUT or was LOST
     * (its instance died); {@code ANY}: every end of a run that started (also INTERRUPTED and CANCELLED).
     */
    public record RunAfter(String task, When when) {

        /** Why {@code run-after: [a, b]} is refused. */
        public static final String NO_FAN_IN = "run-after names one task; fan-in (after several tasks, once each"
                + " has succeeded for the same time) is not supported: give the task one upstream, or chain them"
                + " (b after a, c after b)";

        public enum When {
            SUCCEEDED,
            FAILED,
            ANY
        }

        public RunAfter {
            when = when == null ? When.SUCCEEDED : when;
        }

        /** As written ({@code when} in any case; null or blank: SUCCEEDED); refuses others naming {@code name}. */
        public static RunAfter of(String name, String task, String when) {
            if (task == null || task.isBlank()) {
                throw new InvalidTaskException(name, "run-after needs 'task', the task whose runs this one follows");
            }
            if (when == null || when.isBlank()) {
                return new RunAfter(task.strip(), When.SUCCEEDED);
            }
            try {
                return new RunAfter(task.strip(), When.valueOf(when.strip().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new InvalidTaskException(
                        name, "run-after 'when' must be SUCCEEDED, FAILED or ANY, not '" + when.strip() + "'");
            }
        }
    }

    /** A one-time task ({@code schedule: once}): it runs at its {@code at}, kept as its {@link #startAt}. */
    public boolean once() {
        return Schedule.ONCE.equals(schedule);
    }

    /**
     * Sets a one-time task's {@code at}: required for {@code schedule: once}, refused for any other
     * schedule (whose first run is {@code start-at}'s).
     */
    public TaskDefinition withAt(Instant at) {
        if (!once()) {
            if (at != null) {
                throw new InvalidTaskException(
                        name, "'at' is for a one-time task (schedule: once); a recurring task's first run is start-at");
            }
            return this;
        }
        if (at == null && runAfter == null) {
            throw new InvalidTaskException(name, "a one-time task (schedule: once) needs 'at', the time it runs");
        }
        return withStartAt(at);
    }

    /**
     * A definition's first run as written: {@code startAt} for a recurring task, {@code at} for a
     * one-time task (which takes no start-at).
     */
    public TaskDefinition withFirstRun(Instant startAt, Instant at) {
        if (once() && startAt != null) {
            throw new InvalidTaskException(name, "a one-time task runs at its 'at'; start-at is not for it");
        }
        return withStartAt(startAt).withAt(at);
    }

    /**
     * A start time as written under {@code key} ({@code start-at} in configuration, {@code startAt} over the API): an ISO-8601 instant with its offset ({@code 2026-12-07T03:00:00Z},
     * {@code 2026-12-07T06:00:00+03:00}); null or blank: none. A local time without an offset is
     * refused (which zone it meant is a guess).
     */
    public static Instant startAt(String task, String key, String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(text.strip()).toInstant();
        } catch (DateTimeParseException e) {
            throw new InvalidTaskException(
                    task,
                    key + " must be an ISO-8601 time with its offset, such as 2026-12-07T03:00:00Z or"
                            + " 2026-12-07T06:00:00+03:00, not '" + text.strip() + "'");
        }
    }

    public Schedule parsedSchedule() {
        return Schedule.parse(schedule, timeZone);
    }

    /** A task definition that cannot be used; the service refuses to start with it. */
    public static final class InvalidTaskException extends IllegalArgumentException {
        private final String task;
        private final String problem;

        public InvalidTaskException(String task, String problem) {
            super("Task '" + task + "': " + problem);
            this.task = task;
            this.problem = problem;
        }

        public String task() {
            return task;
        }

        public String problem() {
            return problem;
        }
    }
}

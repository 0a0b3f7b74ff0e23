package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Once a heartbeat, on every instance: ends pauses whose time has come, retires configuration tasks
 * that no live instance defines any more, moves SKIP tasks past a missed time (recording the slots
 * MISSED), cancels the runs of {@code overlap: REPLACE} tasks during which a slot came due, and puts back the
 * schedule of an {@code overlap: ALLOW} task whose claim's instance never moved it on. Each statement
 * changes a row once whichever instance runs it first; events say who. Each duty is a short
 * transaction of its own (a SKIP task, one statement each), waiting for a row another transaction
 * holds at most half a heartbeat: housekeeping never holds many rows locked, nor a thread for long,
 * and one duty failing does not undo the others.
 */
final class TaskHousekeeping {

    private static final Logger log = LoggerFactory.getLogger(TaskHousekeeping.class);

    // Package-visible: QueryPlanTest checks that it reads its index.
    static final NamedSql EXPIRE_PAUSES = NamedSql.of("""
            update tasks set paused_at = null, paused_until = null, pause_reason = null, version = version + 1,
                   updated_at = now()
             where paused_until <= now()
            returning name
            """);

    // Package-visible: QueryPlanTest checks that it reads its index.
    static final NamedSql RETIRE = NamedSql.of("""
            with live as (
                select config_tasks from instances where %s
            )
            update tasks t set retired_at = now(), version = version + 1, updated_at = now()
             where t.source = 'CONFIG' and t.retired_at is null
               -- Just created or changed by an instance that has synced its configuration but not yet
               -- registered what it defines (its start, or a rolling update): not before a lease.
               and (t.config_synced_at is null or t.config_synced_at < now() - :lease * interval '1 millisecond')
               and exists (select 1 from live)
               -- Every live instance says what it defines (an older version would not: then wait).
               and not exists (select 1 from live where config_tasks is null)
               and not exists (select 1 from live where t.name = any(config_tasks))
            returning t.name
            """.formatted(SqlFragments.LIVE_INSTANCE));

    // Package-visible: QueryPlanTest checks that it reads its index.
    static final NamedSql SKIPPABLE = NamedSql.of("""
            select id, name, schedule, time_zone, next_run_at, coalesce(next_fire_at, next_run_at) as fire_at,
                   misfire_threshold_ms, paused_at is not null as paused
              from tasks
             where misfire_policy = 'SKIP' and next_cause = 'SCHEDULE' and owner_session is null
               -- Implied by the next line (thresholds are not negative); lets tasks_skip_due_idx be read as a range.
               and next_run_at < now()
               and next_run_at < now() - misfire_threshold_ms * interval '1 millisecond'
            """);

    // A row locked elsewhere (a claim, an operator) is left for the next heartbeat, never waited for.
    private static final NamedSql SKIP = NamedSql.of("""
            update tasks set next_run_at = cast(:next as timestamptz), next_fire_at = cast(:next as timestamptz),
                   updated_at = now()
             where id = (select id from tasks
                          where id = :id and next_run_at = cast(:was as timestamptz) and owner_session is null
                            for update skip locked)
            """);

    // Package-visible: QueryPlanTest checks that it reads its index (tasks_replace_running_idx).
    static final NamedSql REPLACEABLE = NamedSql.of("""
            select id, name, schedule, time_zone, coalesce(next_fire_at, next_run_at) as fire_at, started_at,
                   current_run_id
              from tasks
             where overlap = 'REPLACE' and owner_session is not null
               and current_run_id is not null and not cancel_requested and stuck_since is null
            """);

    // As an operator's cancel asks (TaskCommands.CANCEL): the owner learns it by NOTIFY or its next renewal.
    private static final NamedSql REPLACE = NamedSql.of("""
            with asked as (
                update tasks set cancel_requested = true, updated_at = now()
                 where id = (select id from tasks
                              where id = :id and current_run_id = :run and not cancel_requested
                                for update skip locked)
                returning name
            )
            select name, pg_notify('%s', cast(:run as text)) from asked
            """.formatted(SessionWatch.CANCEL_CHANNEL));

    /**
     * An overlap ALLOW task whose claim set its schedule aside ({@code next_run_at} infinity) a lease ago
     * and whose instance never wrote the next time (OwnedRunRepository.ADVANCE failed, its instance living
     * on, so no recovery of its run did it): due at once for its slot again. Reads tasks_allow_idx.
     * Package-visible: QueryPlanTest.
     */
    static final NamedSql UNADVANCED = NamedSql.of("""
            update tasks set next_run_at = now(), next_fire_at = coalesce(next_fire_at, now()),
                   next_cause = 'RECOVERY', updated_at = now()
             where max_concurrent is not null and next_run_at = 'infinity'
               and last_claimed_at < now() - :lease * interval '1 millisecond'
            returning name
            """);

    private final SchedulerSettings settings;
    private final DataSource dataSource;
    private final SchedulerEvents events;

    TaskHousekeeping(SchedulerSettings settings, DataSource dataSource) {
        this(settings, dataSource, SchedulerEvents.NONE);
    }

    TaskHousekeeping(SchedulerSettings settings, DataSource dataSource, SchedulerEvents events) {
        this.settings = settings;
        this.dataSource = dataSource;
        this.events = events;
    }

    void start(ScheduledExecutorService pool) {
        long nanos = settings.heartbeat().toNanos();
        pool.scheduleWithFixedDelay(this::runOnce, nanos, nanos, TimeUnit.NANOSECONDS);
    }

    void runOnce() {
        String actor = "scheduler:" + settings.instanceId();
        Duration lockTimeout = settings.heartbeat().dividedBy(2);
        try (Connection c = dataSource.getConnection()) {
            List<String> resumed = duty(
                    "pause ends",
                    List.of(),
                    () -> Transactions.inTransaction(c, lockTimeout, () -> {
                        List<String> names = expirePauses(c, actor);
                        if (!names.isEmpty()) {
                            TaskRepository.notifyTasksChanged(c); // sent at the commit
                        }
                        return names;
                    }));
            resumed.forEach(t -> log.info("Task {} resumed: its pause ended", t));
            List<String> retired = duty(
                    "retirement",
                    List.of(),
                    () -> Transactions.inTransaction(
                            c, lockTimeout, () -> retireUndefined(c, settings.lease(), actor)));
            retired.forEach(t -> log.warn("Task {} disabled: no live instance defines it any more", t));
            int skipped = duty("misfires", 0, () -> skipMisfires(c));
            if (skipped > 0) {
                log.info("{} missed due time(s) skipped (misfire SKIP)", skipped);
            }
            duty("overlap REPLACE", 0, () -> replaceOverrunning(c, actor));
            List<String> unadvanced = duty(
                    "overlap ALLOW schedules",
                    List.of(),
                    () -> names(UNADVANCED.prepare(c).set("lease", settings.lease())));
            unadvanced.forEach(t -> log.warn(
                    "Task {}: its schedule was not moved on after a claim a lease ago; due at once for that slot", t));
            if (!unadvanced.isEmpty()) {
                TaskRepository.notifyTasksChanged(c);
            }
        } catch (SQLException | RuntimeException e) {
            log.warn("Task housekeeping failed: {}", e.getMessage());
        }
    }

    /** Disables configuration tasks that no live instance defines any more; returns their names. */
    List<String> retireUndefined(Connection c, Duration lease, String actor) throws SQLException {
        List<String> retired = names(RETIRE.prepare(c).set("lease", lease));
        for (String name : retired) {
            TaskEvents.record(
                    c,
                    name,
                    actor,
                    AuditAction.RETIRED,
                    null,
                    null,
                    "no live instance defines it in its configuration");
        }
        return retired;
    }

    /** Ends pauses whose time has come; returns the tasks resumed. */
    List<String> expirePauses(Connection c, String actor) throws SQLException {
        List<String> resumed = names(EXPIRE_PAUSES.prepare(c));
        for (String name : resumed) {
            TaskEvents.record(c, name, actor, AuditAction.RESUMED, null, null, "the pause ended at its set time");
        }
        return resumed;
    }

    /**
     * Moves SKIP tasks that missed their time by more than their threshold on to their next future
     * time, each in a transaction of its own (so no row stays locked longer) that also records the
     * slots skipped as MISSED runs ({@link MissedSlots}: a long downtime writes at most 101 rows).
     */
    int skipMisfires(Connection c) throws SQLException {
        Instant now = DbClock.now(c);
        record Missed(long id, String name, String schedule, String zone, Instant was, Instant fire, String reason) {}
        List<Missed> missed = new ArrayList<>();
        try (var st = SKIPPABLE.prepare(c);
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                missed.add(new Missed(
                        rs.getLong("id"),
                        rs.getString("name"),
                        rs.getString("schedule"),
                        rs.getString("time_zone"),
                        InstanceRepository.instant(rs, "next_run_at"),
                        InstanceRepository.instant(rs, "fire_at"),
                        rs.getBoolean("paused")
                                ? "misfire: the task was paused"
                                : "misfire: no instance started it within its threshold ("
                                        + rs.getLong("misfire_threshold_ms") + " ms)"));
            }
        }
        int skipped = 0;
        for (Missed m : missed) {
            MissedSlots slots = skippedSlots(m.schedule(), m.zone(), m.fire(), now, m.reason());
            boolean moved = Transactions.inTransaction(c, settings.heartbeat().dividedBy(2), () -> {
                try (var st = SKIP.prepare(c)
                        .set("next", NextRunPlan.nextOrNull(m.schedule(), m.zone(), now))
                        .set("id", m.id())
                        .set("was", m.was())) {
                    if (st.executeUpdate() == 0) {
                        return false;
                    }
                }
                RunRepository.recordMissed(c, m.id(), settings.instanceId(), List.of(slots));
                return true;
            });
            if (moved) {
                skipped++;
                events.runsMissed(m.name(), slots.kind(), slots.count());
            }
        }
        return skipped;
    }

    /**
     * Asks the owners of the runs of {@code overlap: REPLACE} tasks during which a slot came due to stop
     * them, as an operator's cancel does; each run so ends CANCELLED, and its end makes the task due for
     * that slot at once ({@link NextRunPlan#lateSlot}), so the new run starts only after the old one has
     * ended and released the task (fenced as every run). Each in a transaction of its own, with its audit
     * event; a row locked elsewhere is left for the next heartbeat. Returns how many were asked.
     */
    int replaceOverrunning(Connection c, String actor) throws SQLException {
        Instant now = DbClock.now(c);
        record Running(long id, long run, Instant slot) {}
        List<Running> due = new ArrayList<>();
        try (var st = REPLACEABLE.prepare(c);
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                Instant slot;
                try {
                    slot = NextRunPlan.dueWhileRunning(
                            Schedule.parse(rs.getString("schedule"), ZoneId.of(rs.getString("time_zone"))),
                            InstanceRepository.instant(rs, "fire_at"),
                            InstanceRepository.instant(rs, "started_at"),
                            now);
                } catch (RuntimeException e) {
                    slot = null; // unreadable: its run goes on as SKIP's would
                }
                if (slot != null) {
                    due.add(new Running(rs.getLong("id"), rs.getLong("current_run_id"), slot));
                }
            }
        }
        int asked = 0;
        for (Running r : due) {
            String task = Transactions.inTransaction(c, settings.heartbeat().dividedBy(2), () -> {
                try (var st = REPLACE.prepare(c).set("id", r.id()).set("run", r.run());
                        ResultSet rs = st.executeQuery()) {
                    if (!rs.next()) {
                        return null;
                    }
                    String name = rs.getString("name");
                    TaskEvents.record(
                            c,
                            name,
                            actor,
                            AuditAction.CANCELLED,
                            null,
                            null,
                            "run " + r.run() + ": the slot " + r.slot() + " came due while it ran (overlap REPLACE)");
                    return name;
                }
            });
            if (task != null) {
                asked++;
                log.info(
                        "Run {} of {} cancelled: the slot {} came due while it ran (overlap REPLACE)",
                        r.run(),
                        task,
                        r.slot());
            }
        }
        return asked;
    }

    /**
     * The slots a SKIP task skipped: from the one it was due for up to {@code now}; for a fixed delay
     * (which counts from the end of a run, so has no slots of its own) just that one.
     */
    private static MissedSlots skippedSlots(String schedule, String zone, Instant fire, Instant now, String reason) {
        try {
            Schedule parsed = Schedule.parse(schedule, ZoneId.of(zone));
            if (parsed instanceof Schedule.Cron) {
                return MissedSlots.startingAt(parsed, fire, now, reason);
            }
        } catch (RuntimeException e) {
            // Unreadable: record the one slot it was due for.
        }
        return MissedSlots.of(fire, reason);
    }

    private static List<String> names(NamedSql.Statement statement) throws SQLException {
        try (statement;
                ResultSet rs = statement.executeQuery()) {
            List<String> names = new ArrayList<>();
            while (rs.next()) {
                names.add(rs.getString(1));
            }
            return names;
        }
    }

    private static <T> T duty(String name, T none, Transactions.Work<T> work) {
        try {
            return work.run();
        } catch (SQLException | RuntimeException e) {
            log.warn("Task housekeeping ({}) failed: {}", name, e.getMessage());
            return none;
        }
    }
}

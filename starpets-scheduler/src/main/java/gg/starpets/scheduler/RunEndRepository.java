package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The ends of many runs written together ({@link RunEndBatcher}'s), on {@code tasks} and {@code task_runs}:
 * of runs of tasks in one statement, for each what {@code TaskRepository.FINISH} writes for one (the task
 * given back as its {@link NextRun} says, the run's terminal row, the runs after it); of one-off runs in
 * one transaction, as {@code OneOffRepository.finish} for each. Each only while its fence holds. Kept apart
 * from {@link TaskRepository} and {@link OneOffRepository} only for its length, as {@link ClaimSql} is.
 */
final class RunEndRepository {

    /** One run's end to write. */
    record Pending(ClaimedRun run, NextRun next, RunEnd end) {}

    /**
     * {@code held} locks the tasks still held by this session at their run's fence, skipping those another
     * transaction holds locked (a renewal, a progress write, an operator's command): a batch holding many
     * rows never waits for one, so it cannot deadlock with a statement that locks several of them, and
     * what it skipped it says ({@code locked}: the row as this statement's snapshot saw it was still this
     * session's at the fence), for a later batch. What it locked stays as it was until the statement
     * ends, so the run rows and the release follow it. A task both ended here and started by another
     * run's end here gets its earliest pending time in its own release (a row is updated once per
     * statement), as recovery does.
     */
    static final NamedSql FINISH_BATCH = NamedSql.of("""
            with input as (
                select * from unnest(cast(:tasks as bigint[]), cast(:fences as bigint[]), cast(:runs as bigint[]),
                                     cast(:due_now as text[]), cast(:nexts as timestamptz[]), cast(:fires as timestamptz[]),
                                     cast(:causes as text[]), cast(:attempts as bigint[]), cast(:catch_ups as bigint[]),
                                     cast(:statuses as text[]), cast(:errors as text[]), cast(:progress as text[]),
                                     cast(:outputs as text[]), cast(:results as text[]))
                    as i(task, fence, run, due_now, next, fire, cause, attempt, catch_ups, status, error, progress,
                         output, result)
            ), held as (
                -- By key (the list again: without it the planner reads every task this session owns).
                select t.id from tasks t join input i on i.task = t.id
                 where t.id = any(cast(:tasks as bigint[])) and t.fence = i.fence and t.owner_session = :key
                 order by t.id
                   for update of t skip locked
            ), ended as (
                update task_runs r
                   set status = i.status, finished_at = greatest(now(), r.started_at), error = i.error,
                       progress = coalesce(cast(i.progress as float8), r.progress),
                       output = i.output, result = cast(i.result as jsonb)
                  from input i
                 where r.id = any(cast(:runs as bigint[])) and r.id = i.run and r.status = 'RUNNING'
                   and i.task in (select id from held)
                returning r.id, r.task_id, r.status, r.scheduled_for
            ), %s, released as (
                update tasks t
                   set owner_instance = null, owner_session = null, lease_until = null, current_run_id = null,
                       started_at = null, progress = null, stuck_since = null, owner_lock_seen_at = null,
                       cancel_requested = false, lost_streak = 0, last_run_id = t.current_run_id,
                       -- An operator's trigger queued while the run was in progress: due at once.
                       next_run_at = case when t.trigger_queued or cast(i.due_now as boolean) then now() else i.next end,
                       next_fire_at = case when t.trigger_queued or cast(i.due_now as boolean) then now() else i.fire end,
                       next_cause = case when t.trigger_queued then 'TRIGGER' else i.cause end,
                       next_attempt = case when t.trigger_queued then 1 else cast(i.attempt as integer) end,
                       catch_ups = cast(i.catch_ups as integer), trigger_queued = false, updated_at = now(),
                       next_request_at = least(t.next_request_at,
                                               (select min(q.scheduled_for) from downstream q where q.task_id = t.id))
                  from input i
                 where t.id = i.task and t.id in (select id from held) and t.fence = i.fence and t.owner_session = :key
                returning t.id, t.schedule, t.time_zone, t.next_cause, cast(i.due_now as boolean) as due_now
            )
            select i.task, r.id is not null as released, r.schedule, r.time_zone,
                   r.id is null and exists (select 1 from tasks t
                                             where t.id = any(cast(:tasks as bigint[])) and t.id = i.task
                                               and t.fence = i.fence and t.owner_session = :key)
                       as locked,
                   -- Due at once (or a run after one of these asked for): wake the other instances' claim loops.
                   (select case when exists (select 1 from released where due_now or next_cause = 'TRIGGER')
                                     or exists (select 1 from downstream)
                                then pg_notify('%s', '') end) as notified
              from input i left join released r on r.id = i.task
            """.formatted(
                    OneOffRepository.startDownstream("ended", "d.id in (select id from held)"), SessionWatch.CHANNEL));

    /**
     * The first statement of a batch of one-off runs' ends ({@code OneOffRepository.finish} for many): locks
     * the tasks still this session's at the run's fence, skipping and naming those locked elsewhere as
     * {@link #FINISH_BATCH} does, and ends their runs (and starts the runs after them). The follow-ups and
     * the release ({@code OneOffRepository.FOLLOW_UP}, {@code RELEASE}) come in later statements of the same
     * transaction, so that the earliest pending time they compute sees every pending row committed before.
     */
    static final NamedSql END_ONE_OFFS = NamedSql.of("""
            with input as (
                select * from unnest(cast(:tasks as bigint[]), cast(:fences as bigint[]), cast(:runs as bigint[]),
                                     cast(:statuses as text[]), cast(:errors as text[]), cast(:progress as text[]),
                                     cast(:outputs as text[]), cast(:results as text[]))
                    as i(task, fence, run, status, error, progress, output, result)
            ), held as (
                -- By key (the list again: without it the planner reads every task this session owns).
                select t.id from tasks t join input i on i.task = t.id
                 where t.id = any(cast(:tasks as bigint[])) and t.fence = i.fence and t.owner_session = :key
                 order by t.id
                   for update of t skip locked
            ), ended as (
                update task_runs r
                   set status = i.status, finished_at = greatest(now(), r.started_at), error = i.error,
                       progress = coalesce(cast(i.progress as float8), r.progress),
                       output = i.output, result = cast(i.result as jsonb)
                  from input i
                 where r.id = any(cast(:runs as bigint[])) and r.id = i.run and r.status = 'RUNNING'
                   and i.task in (select id from held)
                returning r.id, r.task_id, r.status, r.scheduled_for
            ), %s
            select i.task, i.task in (select id from held) as held,
                   i.task not in (select id from held)
                       and exists (select 1 from tasks t
                                    where t.id = any(cast(:tasks as bigint[])) and t.id = i.task
                                               and t.fence = i.fence and t.owner_session = :key) as locked,
                   exists (select 1 from downstream) as downstream
              from input i
            """.formatted(OneOffRepository.startDownstream("ended", "")));

    private RunEndRepository() {}

    /**
     * Writes {@code ends} (runs of tasks, not one-off runs) in one statement; for each, in the order given,
     * whether its task was still this session's at its fence (and is now given back): true; it was not
     * (nothing written): false; its row was locked by another transaction (nothing written, try again): null.
     */
    static Boolean[] write(Connection c, long sessionKey, List<Pending> ends) throws SQLException {
        int n = ends.size();
        long[] tasks = new long[n];
        long[] fences = new long[n];
        long[] runs = new long[n];
        String[] dueNow = new String[n];
        Timestamp[] nexts = new Timestamp[n];
        Timestamp[] fires = new Timestamp[n];
        String[] causes = new String[n];
        long[] attempts = new long[n];
        long[] catchUps = new long[n];
        String[] statuses = new String[n];
        String[] errors = new String[n];
        String[] progress = new String[n];
        String[] outputs = new String[n];
        String[] results = new String[n];
        for (int k = 0; k < n; k++) {
            Pending p = ends.get(k);
            tasks[k] = p.run().taskId();
            fences[k] = p.run().fence();
            runs[k] = p.run().runId();
            dueNow[k] = Boolean.toString(p.next().dueNow());
            nexts[k] = p.next().next() == null ? null : Timestamp.from(p.next().next());
            fires[k] =
                    p.next().fireAt() == null ? null : Timestamp.from(p.next().fireAt());
            causes[k] = p.next().cause().name();
            attempts[k] = p.next().attempt();
            catchUps[k] = p.next().catchUps();
            statuses[k] = p.end().status().name();
            errors[k] = p.end().error();
            progress[k] = p.end().progress() == null ? null : p.end().progress().toString();
            outputs[k] = p.end().output();
            results[k] = p.end().resultJson();
        }
        Map<Long, TaskRepository.Finished> byTask = new HashMap<>();
        Set<Long> locked = new HashSet<>();
        try (var st = FINISH_BATCH
                        .prepare(c)
                        .set("tasks", tasks)
                        .set("fences", fences)
                        .set("runs", runs)
                        .set("due_now", dueNow)
                        .set("nexts", nexts)
                        .set("fires", fires)
                        .set("causes", causes)
                        .set("attempts", attempts)
                        .set("catch_ups", catchUps)
                        .set("statuses", statuses)
                        .set("errors", errors)
                        .set("progress", progress)
                        .set("outputs", outputs)
                        .set("results", results)
                        .set("key", sessionKey);
                ResultSet rs = st.executeQuery()) {
            // One row per input row, in no particular order: matched by task (a task has one run at a time).
            while (rs.next()) {
                if (rs.getBoolean("locked")) {
                    locked.add(rs.getLong("task"));
                }
                byTask.put(
                        rs.getLong("task"),
                        new TaskRepository.Finished(
                                rs.getBoolean("released"), rs.getString("schedule"), rs.getString("time_zone")));
            }
        }
        Boolean[] released = new Boolean[n];
        for (int k = 0; k < n; k++) {
            TaskRepository.Finished finished = byTask.get(tasks[k]);
            released[k] = locked.contains(tasks[k]) ? null : finished != null && finished.released();
            if (Boolean.TRUE.equals(released[k])) {
                TaskRepository.followEditedSchedule(
                        c, ends.get(k).run(), ends.get(k).next(), finished);
            }
        }
        return released;
    }

    /**
     * Writes the ends of one-off runs {@code ends} in one transaction of three or four statements, as
     * {@link #write} answers for runs of tasks (null: the row was locked elsewhere, nothing written).
     */
    static Boolean[] writeOneOffs(Connection c, long sessionKey, List<Pending> ends) throws SQLException {
        int n = ends.size();
        long[] tasks = new long[n];
        long[] fences = new long[n];
        long[] runs = new long[n];
        String[] statuses = new String[n];
        String[] errors = new String[n];
        String[] progress = new String[n];
        String[] outputs = new String[n];
        String[] results = new String[n];
        for (int k = 0; k < n; k++) {
            Pending p = ends.get(k);
            tasks[k] = p.run().taskId();
            fences[k] = p.run().fence();
            runs[k] = p.run().runId();
            statuses[k] = p.end().status().name();
            errors[k] = p.end().error();
            progress[k] = p.end().progress() == null ? null : p.end().progress().toString();
            outputs[k] = p.end().output();
            results[k] = p.end().resultJson();
        }
        return Transactions.inTransaction(c, Duration.ofSeconds(5), () -> {
            Set<Long> held = new HashSet<>();
            Set<Long> locked = new HashSet<>();
            boolean downstream = false;
            try (var st = END_ONE_OFFS
                            .prepare(c)
                            .set("tasks", tasks)
                            .set("fences", fences)
                            .set("runs", runs)
                            .set("statuses", statuses)
                            .set("errors", errors)
                            .set("progress", progress)
                            .set("outputs", outputs)
                            .set("results", results)
                            .set("key", sessionKey);
                    ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    if (rs.getBoolean("held")) {
                        held.add(rs.getLong("task"));
                    } else if (rs.getBoolean("locked")) {
                        locked.add(rs.getLong("task"));
                    }
                    downstream |= rs.getBoolean("downstream");
                }
            }
            List<ClaimedRun> followed = new ArrayList<>();
            List<NextRun> nexts = new ArrayList<>();
            for (Pending p : ends) {
                if (p.next() != null && held.contains(p.run().taskId())) {
                    followed.add(p.run());
                    nexts.add(p.next());
                }
            }
            if (!followed.isEmpty()) {
                OneOffRepository.followUp(c, followed, nexts);
            }
            if (!held.isEmpty()
                    && (OneOffRepository.release(
                                    c, held.stream().mapToLong(Long::longValue).toArray())
                            || downstream)) {
                TaskRepository.notifyTasksChanged(c);
            }
            Boolean[] released = new Boolean[n];
            for (int k = 0; k < n; k++) {
                released[k] = locked.contains(tasks[k]) ? null : held.contains(tasks[k]);
            }
            return released;
        });
    }
}

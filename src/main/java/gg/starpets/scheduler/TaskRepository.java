package gg.starpets.scheduler;

import static gg.starpets.scheduler.InstanceRepository.instant;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/** SQL of the {@code tasks} table: definitions, claims, leases, fences. The claim is {@link #claim}. */
public final class TaskRepository {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** A task as the API shows it, read at the database's {@code now}. */
    public record TaskView(
            String name,
            String handler,
            String schedule,
            String timeZone,
            boolean enabled,
            String instanceId,
            Instant startedAt,
            Double elapsedSeconds,
            Double progress,
            Instant nextRunAt,
            double timeoutSeconds,
            long fence,
            RunRepository.RunRow lastRun) {

        public boolean running() {
            return instanceId != null;
        }
    }

    /** When a task last started, for the "not run within twice its interval" alert. */
    public record TaskTiming(
            String name, String schedule, String timeZone, double timeoutSeconds, double secondsSinceLastStart) {}

    /** Every task (or the one named), and the database time they were read at. */
    public record TaskSnapshot(Instant now, List<TaskView> tasks) {}

    private final DataSource dataSource;

    public TaskRepository(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public List<TaskTiming> findTimings() {
        try (Connection c = dataSource.getConnection();
                var st = c.prepareStatement("""
                        select t.name, t.schedule, t.time_zone, t.timeout_seconds,
                               extract(epoch from now() - coalesce(t.started_at, r.started_at, t.created_at)) as since
                          from tasks t left join task_runs r on r.id = t.last_run_id
                         where t.enabled
                        """);
                ResultSet rs = st.executeQuery()) {
            List<TaskTiming> timings = new ArrayList<>();
            while (rs.next()) {
                timings.add(new TaskTiming(
                        rs.getString(1), rs.getString(2), rs.getString(3), rs.getDouble(4), rs.getDouble(5)));
            }
            return timings;
        } catch (SQLException e) {
            throw new SchedulerException("could not read task timings", e);
        }
    }

    public TaskSnapshot findViews(String onlyName) {
        try (Connection c = dataSource.getConnection();
                var st = c.prepareStatement("""
                        select now() as db_now, t.name, t.handler, t.schedule, t.time_zone, t.enabled,
                               t.owner_instance, t.started_at, extract(epoch from now() - t.started_at) as elapsed,
                               t.progress, t.next_run_at, t.timeout_seconds, t.fence, r.id as run_id,
                               r.task_name, r.instance_id, r.status, r.scheduled_for, r.started_at as run_started_at,
                               r.finished_at, extract(epoch from r.finished_at - r.started_at) as duration,
                               r.error, r.attempt, r.progress as run_progress
                          from tasks t left join task_runs r on r.id = t.last_run_id
                         where ?::text is null or t.name = ?
                         order by t.name
                        """)) {
            st.setString(1, onlyName);
            st.setString(2, onlyName);
            try (ResultSet rs = st.executeQuery()) {
                Instant now = null;
                List<TaskView> views = new ArrayList<>();
                while (rs.next()) {
                    now = instant(rs, "db_now");
                    views.add(view(rs));
                }
                return new TaskSnapshot(now == null ? now(c) : now, views);
            }
        } catch (SQLException e) {
            throw new SchedulerException("could not read the tasks", e);
        }
    }

    private static TaskView view(ResultSet rs) throws SQLException {
        double elapsed = rs.getDouble("elapsed");
        boolean noElapsed = rs.wasNull();
        double progress = rs.getDouble("progress");
        boolean noProgress = rs.wasNull();
        rs.getLong("run_id");
        RunRepository.RunRow lastRun = rs.wasNull()
                ? null
                : new RunRepository.RunRow(
                        rs.getLong("run_id"),
                        rs.getString("task_name"),
                        rs.getString("instance_id"),
                        RunStatus.valueOf(rs.getString("status")),
                        instant(rs, "scheduled_for"),
                        instant(rs, "run_started_at"),
                        instant(rs, "finished_at"),
                        rs.getObject("duration") == null ? null : rs.getDouble("duration"),
                        rs.getString("error"),
                        rs.getInt("attempt"),
                        rs.getObject("run_progress") == null ? null : rs.getDouble("run_progress"));
        String owner = rs.getString("owner_instance");
        return new TaskView(
                rs.getString("name"),
                rs.getString("handler"),
                rs.getString("schedule"),
                rs.getString("time_zone"),
                rs.getBoolean("enabled"),
                owner,
                owner == null ? null : instant(rs, "started_at"),
                owner == null || noElapsed ? null : elapsed,
                owner == null || noProgress ? null : progress,
                instant(rs, "next_run_at"),
                rs.getDouble("timeout_seconds"),
                rs.getLong("fence"),
                lastRun);
    }

    /** A run this copy has just claimed; its history row is already written as RUNNING. */
    record ClaimedRun(
            long taskId,
            String task,
            String handler,
            String schedule,
            String timeZone,
            Map<String, Object> params,
            Duration timeout,
            long fence,
            long runId,
            int attempt,
            Instant scheduledFor,
            Instant startedAt) {}

    /**
     * What a copy needs to take its fair share. Of {@code activeOrDue} tasks (running anywhere, or
     * due) over {@code liveCopies}, every copy may hold the floor of the quotient, and the copies
     * ranked first by id one more each for the remainder: 12 tasks on 5 copies give 3, 3, 2, 2, 2.
     */
    record Share(
            long activeOrDue, long liveCopies, long rank, long runningHere, long runningElsewhere, Duration nextDueIn) {

        int quota() {
            long copies = Math.max(1, liveCopies);
            long fair = activeOrDue / copies + (rank < activeOrDue % copies ? 1 : 0);
            return (int) Math.max(0, fair - runningHere);
        }
    }

    /** A task whose copy was gone, made due again by {@link #recoverOrphans}. */
    record Recovered(String task, String formerInstance, long lostRunId, String reason) {}

    /** Creates new tasks and updates changed ones; unchanged rows are not touched. New tasks are due at once. */
    int upsertDefinitions(Connection c, Collection<TaskDefinition> definitions) throws SQLException {
        int changed = 0;
        try (var st = c.prepareStatement("""
                insert into tasks (name, handler, schedule, time_zone, params, enabled, timeout_seconds,
                                   misfire_policy, next_run_at)
                values (?, ?, ?, ?, ?::jsonb, ?, ?, ?, now())
                on conflict (name) do update
                   set handler = excluded.handler, schedule = excluded.schedule, time_zone = excluded.time_zone,
                       params = excluded.params, enabled = excluded.enabled,
                       timeout_seconds = excluded.timeout_seconds, misfire_policy = excluded.misfire_policy,
                       updated_at = now()
                 where (tasks.handler, tasks.schedule, tasks.time_zone, tasks.params, tasks.enabled,
                        tasks.timeout_seconds, tasks.misfire_policy)
                       is distinct from
                       (excluded.handler, excluded.schedule, excluded.time_zone, excluded.params, excluded.enabled,
                        excluded.timeout_seconds, excluded.misfire_policy)
                """)) {
            for (TaskDefinition d : definitions) {
                st.setString(1, d.name());
                st.setString(2, d.handler());
                st.setString(3, d.schedule());
                st.setString(4, d.timeZone().getId());
                st.setString(5, JSON.writeValueAsString(d.params()));
                st.setBoolean(6, d.enabled());
                st.setDouble(7, d.timeout().toNanos() / 1e9);
                st.setString(8, TaskDefinition.MISFIRE_POLICY);
                changed += st.executeUpdate();
            }
        }
        return changed;
    }

    Share share(Connection c, String instanceId, long sessionKey, Duration lease) throws SQLException {
        try (var st = c.prepareStatement("""
                with live as (
                    select count(*) + 1 as live_plus_me, count(*) filter (where id < ?) as rank
                      from instances
                     where state = 'RUNNING' and heartbeat_at > now() - ? * interval '1 millisecond'
                       and id <> ?
                ), work as (
                    -- One pass over tasks: this runs before every claim.
                    select count(*) filter (where owner_session is not null
                                               or (enabled and next_run_at <= now())) as active_or_due,
                           count(*) filter (where owner_session = ?) as running_here,
                           count(*) filter (where owner_session <> ?) as running_elsewhere,
                           extract(epoch from min(next_run_at) filter (where owner_session is null and enabled)
                                              - now()) as next_due_in
                      from tasks
                )
                select * from live, work
                """)) {
            st.setString(1, instanceId);
            st.setLong(2, lease.toMillis());
            st.setString(3, instanceId);
            st.setLong(4, sessionKey);
            st.setLong(5, sessionKey);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                double nextDue = rs.getDouble("next_due_in");
                Duration nextDueIn = rs.wasNull() ? null : Duration.ofNanos((long) (Math.max(0, nextDue) * 1e9));
                return new Share(
                        rs.getLong("active_or_due"),
                        rs.getLong("live_plus_me"),
                        rs.getLong("rank"),
                        rs.getLong("running_here"),
                        rs.getLong("running_elsewhere"),
                        nextDueIn);
            }
        }
    }

    /**
     * The claim: in one statement, locks up to {@code quota} due unowned tasks (skipping rows other
     * copies are claiming), makes this copy their owner with a lease and a new fence, and writes
     * each run's history row.
     */
    List<ClaimedRun> claim(Connection c, String instanceId, long sessionKey, Duration lease, int quota)
            throws SQLException {
        try (var st = c.prepareStatement("""
                with due as (
                    select id from tasks
                    where enabled and owner_session is null and next_run_at <= now()
                    order by next_run_at, id
                    limit ?
                    for update skip locked
                ), claimed as (
                    update tasks t
                       set owner_instance = ?, owner_session = ?,
                           lease_until = now() + ? * interval '1 millisecond',
                           fence = t.fence + 1,
                           current_run_id = nextval(pg_get_serial_sequence('task_runs', 'id')),
                           started_at = now(), progress = null, updated_at = now()
                      from due
                     where t.id = due.id
                    returning t.id, t.name, t.handler, t.schedule, t.time_zone, t.params::text as params,
                              t.timeout_seconds, t.fence, t.current_run_id, t.next_attempt, t.next_run_at,
                              t.started_at
                ), runs as (
                    insert into task_runs (id, task_id, task_name, instance_id, fence, scheduled_for, started_at,
                                           status, attempt)
                    select current_run_id, id, name, ?, fence, next_run_at, started_at, 'RUNNING', next_attempt
                      from claimed
                )
                select * from claimed order by next_run_at
                """)) {
            st.setInt(1, quota);
            st.setString(2, instanceId);
            st.setLong(3, sessionKey);
            st.setLong(4, lease.toMillis());
            st.setString(5, instanceId);
            try (ResultSet rs = st.executeQuery()) {
                List<ClaimedRun> runs = new ArrayList<>();
                while (rs.next()) {
                    runs.add(new ClaimedRun(
                            rs.getLong("id"),
                            rs.getString("name"),
                            rs.getString("handler"),
                            rs.getString("schedule"),
                            rs.getString("time_zone"),
                            JSON.readValue(rs.getString("params"), new TypeReference<Map<String, Object>>() {}),
                            Duration.ofNanos((long) (rs.getDouble("timeout_seconds") * 1e9)),
                            rs.getLong("fence"),
                            rs.getLong("current_run_id"),
                            rs.getInt("next_attempt"),
                            instant(rs, "next_run_at"),
                            instant(rs, "started_at")));
                }
                return runs;
            }
        }
    }

    /** Extends the leases of every task this session owns; returns the runs it still owns. */
    List<Long> renewLeases(Connection c, long sessionKey, Duration lease) throws SQLException {
        try (var st = c.prepareStatement("""
                update tasks set lease_until = now() + ? * interval '1 millisecond'
                 where owner_session = ?
                returning current_run_id
                """)) {
            st.setLong(1, lease.toMillis());
            st.setLong(2, sessionKey);
            try (ResultSet rs = st.executeQuery()) {
                List<Long> owned = new ArrayList<>();
                while (rs.next()) {
                    owned.add(rs.getLong(1));
                }
                return owned;
            }
        }
    }

    /** Writes the progress handlers reported, for runs whose fence still holds. */
    void writeProgress(Connection c, long[] runIds, double[] progress) throws SQLException {
        if (runIds.length == 0) {
            return;
        }
        Long[] ids = new Long[runIds.length];
        Double[] values = new Double[progress.length];
        for (int i = 0; i < runIds.length; i++) {
            ids[i] = runIds[i];
            values[i] = progress[i];
        }
        try (var st = c.prepareStatement("""
                update tasks t set progress = p.progress
                  from unnest(?::bigint[], ?::float8[]) as p(run_id, progress)
                 where t.current_run_id = p.run_id
                """)) {
            st.setArray(1, c.createArrayOf("bigint", ids));
            st.setArray(2, c.createArrayOf("float8", values));
            st.executeUpdate();
        }
    }

    /** The database's clock, the only clock due times are computed from. */
    Instant now(Connection c) throws SQLException {
        try (var st = c.prepareStatement("select now()");
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return instant(rs, "now");
        }
    }

    /**
     * Ends a run in one statement: gives the task back (unowned, due at {@code nextRunAt}, or at
     * once when null) and writes the run's terminal status, both only while the fence still holds.
     * Returns false, having written nothing, when another copy has taken the task over.
     */
    boolean finish(
            Connection c,
            ClaimedRun run,
            long sessionKey,
            Instant nextRunAt,
            RunStatus status,
            String error,
            Double progress)
            throws SQLException {
        try (var st = c.prepareStatement("""
                with released as (
                    update tasks
                       set owner_instance = null, owner_session = null, lease_until = null, current_run_id = null,
                           started_at = null, progress = null, last_run_id = current_run_id,
                           next_run_at = coalesce(?::timestamptz, now()), next_attempt = 1, updated_at = now()
                     where id = ? and fence = ? and owner_session = ?
                    returning id
                ), ended as (
                    update task_runs
                       set status = ?, finished_at = now(), error = ?, progress = coalesce(?, progress)
                     where id = ? and status = 'RUNNING' and exists (select 1 from released)
                )
                select exists (select 1 from released),
                       -- Due at once: wake the other copies' claim loops.
                       case when ?::timestamptz is null and exists (select 1 from released)
                            then pg_notify('%s', '') end
                """.formatted(TaskNotifications.CHANNEL))) {
            Timestamp next = nextRunAt == null ? null : Timestamp.from(nextRunAt);
            st.setTimestamp(1, next);
            st.setLong(2, run.taskId());
            st.setLong(3, run.fence());
            st.setLong(4, sessionKey);
            st.setString(5, status.name());
            st.setString(6, error);
            st.setObject(7, progress);
            st.setLong(8, run.runId());
            st.setTimestamp(9, next);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    /**
     * Ends the runs of copies that are gone (session ended, or lease expired), marks them LOST,
     * and makes their tasks due at once with a new fence, so that the old owner can write nothing.
     */
    List<Recovered> recoverOrphans(Connection c) throws SQLException {
        try (var st = c.prepareStatement("""
                with orphaned as (
                    select t.id, t.owner_instance, t.current_run_id,
                           case when t.lease_until < now() then 'lease expired'
                                else 'database session ended' end as reason
                      from tasks t
                     where t.owner_session is not null
                       and (t.lease_until < now() or not %s)
                       for update skip locked
                ), lost as (
                    update task_runs r
                       set status = 'LOST', finished_at = now(),
                           error = 'instance ' || o.owner_instance || ' is gone (' || o.reason || ')'
                      from orphaned o
                     where r.id = o.current_run_id and r.status = 'RUNNING'
                ), released as (
                    update tasks t
                       set owner_instance = null, owner_session = null, lease_until = null, current_run_id = null,
                           started_at = null, progress = null, last_run_id = o.current_run_id, next_run_at = now(),
                           next_attempt = t.next_attempt + 1, fence = t.fence + 1, updated_at = now()
                      from orphaned o
                     where t.id = o.id
                    returning t.id, t.name
                )
                select r.name, o.owner_instance, o.current_run_id, o.reason
                  from released r join orphaned o on o.id = r.id
                """.formatted(InstanceRepository.SESSION_ALIVE.formatted("t.owner_session")));
                ResultSet rs = st.executeQuery()) {
            List<Recovered> recovered = new ArrayList<>();
            while (rs.next()) {
                recovered.add(new Recovered(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getString(4)));
            }
            return recovered;
        }
    }

    void notifyTasksChanged(Connection c) throws SQLException {
        try (var st = c.prepareStatement("select pg_notify('" + TaskNotifications.CHANNEL + "', '')")) {
            st.execute();
        }
    }
}

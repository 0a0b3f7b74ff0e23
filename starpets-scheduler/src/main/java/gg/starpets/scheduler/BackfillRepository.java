package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The statements of backfills ({@code POST /tasks/{name}/backfill}) on {@code backfills} and
 * {@code task_runs}. A backfill's runs are pending one-off runs ({@link OneOffRepository}) whose
 * {@code scheduled_for} is their slot and whose {@code backfill_id} names the backfill: the claim takes
 * a task's earliest pending run first, so they start oldest slot first, and their retries and
 * recoveries keep their slot and their backfill.
 */
final class BackfillRepository {

    private static final NamedSql INSERT = NamedSql.of("""
            insert into backfills (task_id, task_name, from_time, to_time, slots, requested_by, max_parallel)
            values (:task, :name, cast(:from as timestamptz), cast(:to as timestamptz), :slots, :by, :max_parallel)
            returning id, created_at
            """);

    // Slots as epoch milliseconds: exact, whatever the JVM's time zone.
    private static final NamedSql INSERT_RUNS = NamedSql.of("""
            insert into task_runs (task_id, task_name, scheduled_for, started_at, status, attempt, cause, params,
                                   requested_by, backfill_id)
            select :task, :name, timestamptz 'epoch' + slot * interval '1 millisecond', null, 'PENDING', 1, 'MANUAL',
                   cast(:params as jsonb), :by, :backfill
              from unnest(cast(:slots as bigint[])) as slot
            """);

    private static final String BACKFILL_COLUMNS = """
            b.id, b.task_name, b.from_time, b.to_time, b.slots, b.max_parallel, b.requested_by, b.created_at, b.cancelled_at,
            b.cancelled_by, s.done, s.failed, s.pending, s.running, s.cancelled, s.first_slot, s.last_slot
            """;

    // Each slot counts once, by its latest run (a retry of a failed slot is pending again).
    private static final String COUNTS = """
            left join lateral (
                select count(*) filter (where status = 'SUCCEEDED') as done,
                       count(*) filter (where status in ('FAILED', 'TIMED_OUT', 'INTERRUPTED', 'LOST')) as failed,
                       count(*) filter (where status = 'PENDING') as pending,
                       count(*) filter (where status = 'RUNNING') as running,
                       count(*) filter (where status = 'CANCELLED') as cancelled,
                       min(scheduled_for) as first_slot, max(scheduled_for) as last_slot
                  from (select distinct on (r.scheduled_for) r.status, r.scheduled_for
                          from task_runs r where r.backfill_id = b.id
                         order by r.scheduled_for, r.id desc) latest
            ) s on true
            """;

    // Package-visible: QueryPlanTest (the slots of one backfill read by task_runs_backfill_idx).
    static final NamedSql FIND =
            NamedSql.of("select " + BACKFILL_COLUMNS + " from backfills b " + COUNTS + " where b.id = :id");

    private static final NamedSql OF_TASK = NamedSql.of("select " + BACKFILL_COLUMNS + " from backfills b " + COUNTS
            + " where b.task_id = (select id from tasks where name = :name) order by b.id desc limit :limit");

    private static final NamedSql TASK_OF = NamedSql.of("select task_id, task_name from backfills where id = :id");

    private static final NamedSql CANCEL = NamedSql.of("""
            update backfills set cancelled_at = now(), cancelled_by = :by where id = :id and cancelled_at is null
            """);

    private static final NamedSql WITHDRAW_RUNS = NamedSql.of("""
            update task_runs set status = 'CANCELLED', finished_at = now(), error = :error
             where backfill_id = :id and status = 'PENDING'
            """);

    /** A backfill's task. */
    record TaskOf(long taskId, String task) {}

    private BackfillRepository() {}

    /**
     * In the caller's transaction, which holds the task's row locked: writes the backfill and one
     * pending run per slot (slots ascending), and moves the task's earliest pending time.
     */
    static long insert(
            Connection c,
            long taskId,
            String task,
            Instant from,
            Instant to,
            List<Instant> slots,
            String paramsJson,
            String requestedBy,
            int maxParallel)
            throws SQLException {
        long id;
        try (var st = INSERT.prepare(c)
                        .set("task", taskId)
                        .set("name", task)
                        .set("from", from)
                        .set("to", to)
                        .set("slots", slots.size())
                        .set("by", requestedBy)
                        .set("max_parallel", maxParallel);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            id = rs.getLong("id");
        }
        long[] millis = slots.stream().mapToLong(Instant::toEpochMilli).toArray();
        try (var st = INSERT_RUNS
                .prepare(c)
                .set("task", taskId)
                .set("name", task)
                .set("params", paramsJson)
                .set("by", requestedBy)
                .set("backfill", id)
                .set("slots", millis)) {
            st.executeUpdate();
        }
        OneOffRepository.earlier(c, taskId, slots.getFirst());
        return id;
    }

    static Backfills.Progress find(Connection c, long id) throws SQLException {
        try (var st = FIND.prepare(c).set("id", id);
                ResultSet rs = st.executeQuery()) {
            return rs.next() ? progress(rs) : null;
        }
    }

    /** The task's backfills, the latest first. */
    static List<Backfills.Progress> ofTask(Connection c, String task, int limit) throws SQLException {
        try (var st = OF_TASK.prepare(c).set("name", task).set("limit", limit);
                ResultSet rs = st.executeQuery()) {
            List<Backfills.Progress> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(progress(rs));
            }
            return rows;
        }
    }

    static TaskOf taskOf(Connection c, long id) throws SQLException {
        try (var st = TASK_OF.prepare(c).set("id", id);
                ResultSet rs = st.executeQuery()) {
            return rs.next() ? new TaskOf(rs.getLong(1), rs.getString(2)) : null;
        }
    }

    /**
     * In the caller's transaction, which holds the task's row locked: marks the backfill cancelled
     * (false when it already was) and ends its pending runs CANCELLED; the task's earliest pending time
     * is computed again. A run of it in progress is left to end.
     */
    static boolean cancel(Connection c, long taskId, long id, String by) throws SQLException {
        int marked;
        try (var st = CANCEL.prepare(c).set("id", id).set("by", by)) {
            marked = st.executeUpdate();
        }
        if (marked == 0) {
            return false;
        }
        try (var st = WITHDRAW_RUNS.prepare(c).set("id", id).set("error", "backfill " + id + " cancelled by " + by)) {
            st.executeUpdate();
        }
        OneOffRepository.recompute(c, taskId);
        return true;
    }

    private static Backfills.Progress progress(ResultSet rs) throws SQLException {
        Instant cancelledAt = instant(rs, "cancelled_at");
        return new Backfills.Progress(
                rs.getLong("id"),
                rs.getString("task_name"),
                Backfills.Progress.state(cancelledAt, rs.getLong("pending"), rs.getLong("running")),
                instant(rs, "from_time"),
                instant(rs, "to_time"),
                rs.getInt("slots"),
                rs.getInt("max_parallel"),
                rs.getLong("done"),
                rs.getLong("failed"),
                rs.getLong("pending"),
                rs.getLong("running"),
                rs.getLong("cancelled"),
                instant(rs, "first_slot"),
                instant(rs, "last_slot"),
                rs.getString("requested_by"),
                instant(rs, "created_at"),
                cancelledAt,
                rs.getString("cancelled_by"));
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        var t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }
}

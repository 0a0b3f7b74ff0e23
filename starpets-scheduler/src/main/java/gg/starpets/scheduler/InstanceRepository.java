package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/** SQL of the {@code instances} table: which instances exist and which of them are alive. */
public final class InstanceRepository {

    /**
     * An instance as the database knows it. {@code runsUsed}/{@code capacity}: the units of its capacity
     * its live handlers used at its last heartbeat, of {@code capacity} (0: no limit).
     */
    public record InstanceRow(
            String id,
            String host,
            String version,
            Instant startedAt,
            Instant heartbeatAt,
            String state,
            int runningTasks,
            int runsUsed,
            int capacity) {}

    private static final NamedSql FIND_OWNER = NamedSql.of("""
            with %s
            select i.session_key, i.host, i.started_at, i.session_key in (select key from held) as alive
              from instances i
             where i.id = :id
               for update of i
            """.formatted(SqlFragments.HELD_LOCKS));

    /** A transaction lock per id (two-int form: never the same lock as a session key's). */
    private static final NamedSql LOCK_ID = NamedSql.of("select pg_advisory_xact_lock(7410, hashtext(:id))");

    private static final NamedSql REGISTER = NamedSql.of("""
            insert into instances (id, host, version, session_key, started_at, heartbeat_at, state, config_tasks)
            values (:id, :host, :version, :key, now(), now(), 'RUNNING', cast(:config_tasks as text[]))
            on conflict (id) do update
               set host = excluded.host, version = excluded.version, session_key = excluded.session_key,
                   started_at = now(), heartbeat_at = now(), state = 'RUNNING', config_tasks = excluded.config_tasks,
                   -- Its claim loop starts right after: counted in the shares from the start (settling).
                   claiming = true, settled_at = null
            """);

    private static final NamedSql SETTLED = NamedSql.of(
            "update instances set settled_at = now() where id = :id and session_key = :key and settled_at is null");

    private static final NamedSql HEARTBEAT = NamedSql.of("""
            update instances
               set heartbeat_at = now(), claiming = :claiming, capacity = :capacity, runs_used = :used,
                   -- Marked GONE while it was cut off, and back now.
                   state = case when state = 'GONE' then 'RUNNING' else state end
             where id = :id and session_key = :key
            """);

    private static final NamedSql TAKEN =
            NamedSql.of("select exists (select 1 from instances where id = :id and session_key <> :key)");

    private static final NamedSql SET_STATE =
            NamedSql.of("update instances set state = :state where id = :id and session_key = :key");

    private static final NamedSql MARK_GONE =
            NamedSql.of("""
            with %s
            update instances i set state = 'GONE'
             where i.state <> 'GONE'
               and (i.heartbeat_at < now() - :lease * interval '1 millisecond'
                    -- Its lock is missing though it heartbeat (holding it) since the locks held now were taken.
                    or (i.heartbeat_at > %s
                        and i.session_key not in (select key from held)))
            """.formatted(SqlFragments.HELD_LOCKS, SqlFragments.LOCK_EPOCH));

    // Reads instances_gone_idx and, per instance, tasks_owner_instance_idx. Package-visible: QueryPlanTest.
    static final NamedSql DELETE_GONE = NamedSql.of("""
            with %s
            delete from instances i
             where i.id = any(array(select g.id from instances g
                                     where g.state = 'GONE'
                                       and g.heartbeat_at < now() - :gone_for * interval '1 millisecond'
                                     order by g.heartbeat_at
                                     limit :limit))
               -- Checked again on the row as it is when deleted: it may have come back meanwhile.
               and i.state = 'GONE'
               and i.heartbeat_at < now() - :gone_for * interval '1 millisecond'
               and i.session_key not in (select key from held)
               and not exists (select 1 from tasks t where t.owner_instance = i.id)
            """.formatted(SqlFragments.HELD_LOCKS));

    private static final NamedSql COUNT_LIVE =
            NamedSql.of("select count(*) from instances where " + SqlFragments.LIVE_INSTANCE);

    private final DataSource dataSource;

    public InstanceRepository(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Another live process already uses the instance id this one was started with. */
    public static final class DuplicateInstanceException extends IllegalStateException {
        DuplicateInstanceException(String message) {
            super(message);
        }
    }

    /**
     * Registers this process under {@code id}, in a transaction that locks the id's row: refused
     * when a live process (its session lock held) already uses the id; a restarted instance whose old
     * process is gone takes the id over. {@code configTasks}: the names of the tasks its configuration
     * defines (see {@link TaskHousekeeping#retireUndefined}).
     */
    void register(Connection c, String id, String host, String version, long sessionKey, String[] configTasks)
            throws SQLException {
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            // Two processes starting with a new id at once: the second waits here, then sees the first.
            try (var st = LOCK_ID.prepare(c).set("id", id);
                    ResultSet rs = st.executeQuery()) {
                rs.next();
            }
            try (var st = FIND_OWNER.prepare(c).set("id", id);
                    ResultSet rs = st.executeQuery()) {
                if (rs.next() && rs.getLong("session_key") != sessionKey && rs.getBoolean("alive")) {
                    throw new DuplicateInstanceException("instance id '" + id + "' is in use by a live process on "
                            + rs.getString("host") + " (registered " + instant(rs, "started_at")
                            + "): give each instance its own INSTANCE_ID");
                }
            }
            try (var st = REGISTER.prepare(c)
                    .set("id", id)
                    .set("host", host)
                    .set("version", version)
                    .set("key", sessionKey)
                    .set("config_tasks", configTasks)) {
                st.executeUpdate();
            }
            c.commit();
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(autoCommit);
        }
    }

    /**
     * Says this instance is alive, and whether it can claim now ({@code claiming}: fair shares count
     * only instances that can), its capacity (0: no limit) and the units its live handlers use of it
     * ({@link Capacity}: a full one is left out of the shares too). Returns false when this process's row is not there (another process
     * took the id, or it was pruned).
     */
    boolean heartbeat(Connection c, String id, long sessionKey, boolean claiming, int capacity, int used)
            throws SQLException {
        try (var st = HEARTBEAT
                .prepare(c)
                .set("id", id)
                .set("key", sessionKey)
                .set("claiming", claiming)
                .set("capacity", capacity)
                .set("used", used)) {
            return st.executeUpdate() == 1;
        }
    }

    /** Records that this instance has ended its settling and claims (once per registration). */
    static void settled(Connection c, String id, long sessionKey) throws SQLException {
        try (var st = SETTLED.prepare(c).set("id", id).set("key", sessionKey)) {
            st.executeUpdate();
        }
    }

    /** True when another process has registered under this id since. */
    boolean takenByAnother(Connection c, String id, long sessionKey) throws SQLException {
        try (var st = TAKEN.prepare(c).set("id", id).set("key", sessionKey);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    void setState(Connection c, String id, long sessionKey, String state) throws SQLException {
        try (var st = SET_STATE.prepare(c).set("state", state).set("id", id).set("key", sessionKey)) {
            st.executeUpdate();
        }
    }

    /** Marks GONE the instances whose heartbeat is older than the lease or whose session has ended. */
    int markGone(Connection c, Duration lease) throws SQLException {
        try (var st = MARK_GONE.prepare(c).set("lease", lease)) {
            return st.executeUpdate();
        }
    }

    /** Instances alive now: running, with a heartbeat within the lease. */
    public long countLive(Duration lease) {
        try (Connection c = dataSource.getConnection();
                var st = COUNT_LIVE.prepare(c).set("lease", lease);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new SchedulerException("could not count live instances", e);
        }
    }

    public List<InstanceRow> findAll() {
        try (Connection c = dataSource.getConnection();
                var st = c.prepareStatement("""
                        select i.id, i.host, i.version, i.started_at, i.heartbeat_at, i.state, i.runs_used,
                               i.capacity,
                               (select count(*) from tasks t where t.owner_session = i.session_key) as running
                        from instances i
                        order by i.state <> 'GONE' desc, i.id
                        """);
                ResultSet rs = st.executeQuery()) {
            List<InstanceRow> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(new InstanceRow(
                        rs.getString("id"),
                        rs.getString("host"),
                        rs.getString("version"),
                        instant(rs, "started_at"),
                        instant(rs, "heartbeat_at"),
                        rs.getString("state"),
                        rs.getInt("running"),
                        rs.getInt("runs_used"),
                        rs.getInt("capacity")));
            }
            return rows;
        } catch (SQLException e) {
            throw new SchedulerException("could not list instances", e);
        }
    }

    /**
     * Deletes up to {@code limit} instances GONE for longer than {@code goneFor}: no heartbeat since,
     * no session alive, no task owned. Retention; a live instance is never deleted.
     */
    public int deleteGoneFor(Duration goneFor, int limit) {
        try (Connection c = dataSource.getConnection();
                var st = DELETE_GONE.prepare(c).set("gone_for", goneFor).set("limit", limit)) {
            return st.executeUpdate();
        } catch (SQLException e) {
            throw new SchedulerException("could not delete instances gone for long", e);
        }
    }

    static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp ts = rs.getTimestamp(column);
        return ts == null ? null : ts.toInstant();
    }
}

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

/** SQL of the {@code instances} table: which copies exist and which of them are alive. */
public final class InstanceRepository {

    /** A copy as the database knows it. */
    public record InstanceRow(
            String id,
            String host,
            String version,
            Instant startedAt,
            Instant heartbeatAt,
            String state,
            int runningTasks) {}

    /** True when the advisory lock of a copy's session is held, i.e. the copy's process is connected. */
    static final String SESSION_ALIVE = """
            exists (select 1 from pg_locks l
                    where l.locktype = 'advisory' and l.granted and l.objsubid = 1
                      and l.database = (select oid from pg_database where datname = current_database())
                      and l.classid::bigint = (%1$s >> 32) & 4294967295
                      and l.objid::bigint = %1$s & 4294967295)
            """;

    private final DataSource dataSource;

    public InstanceRepository(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    void register(Connection c, String id, String host, String version, long sessionKey) throws SQLException {
        try (var st = c.prepareStatement("""
                insert into instances (id, host, version, session_key, started_at, heartbeat_at, state)
                values (?, ?, ?, ?, now(), now(), 'RUNNING')
                on conflict (id) do update
                   set host = excluded.host, version = excluded.version, session_key = excluded.session_key,
                       started_at = now(), heartbeat_at = now(), state = 'RUNNING'
                """)) {
            st.setString(1, id);
            st.setString(2, host);
            st.setString(3, version);
            st.setLong(4, sessionKey);
            st.executeUpdate();
        }
    }

    /** Returns false when another process has registered under the same id since. */
    boolean heartbeat(Connection c, String id, long sessionKey) throws SQLException {
        try (var st = c.prepareStatement("""
                update instances
                   set heartbeat_at = now(),
                       -- Marked GONE while it was cut off, and back now.
                       state = case when state = 'GONE' then 'RUNNING' else state end
                 where id = ? and session_key = ?
                """)) {
            st.setString(1, id);
            st.setLong(2, sessionKey);
            return st.executeUpdate() == 1;
        }
    }

    void setState(Connection c, String id, long sessionKey, String state) throws SQLException {
        try (var st = c.prepareStatement("update instances set state = ? where id = ? and session_key = ?")) {
            st.setString(1, state);
            st.setString(2, id);
            st.setLong(3, sessionKey);
            st.executeUpdate();
        }
    }

    /** Marks GONE the copies whose session ended or whose heartbeat is older than the lease. */
    int markGone(Connection c, Duration lease) throws SQLException {
        try (var st = c.prepareStatement("""
                update instances i set state = 'GONE'
                where i.state <> 'GONE'
                  and (i.heartbeat_at < now() - ? * interval '1 millisecond' or not %s)
                """.formatted(SESSION_ALIVE.formatted("i.session_key")))) {
            st.setLong(1, lease.toMillis());
            return st.executeUpdate();
        }
    }

    /** Copies alive now: running, with a heartbeat within the lease. */
    public long countLive(Duration lease) {
        try (Connection c = dataSource.getConnection();
                var st = c.prepareStatement("select count(*) from instances where state = 'RUNNING'"
                        + " and heartbeat_at > now() - ? * interval '1 millisecond'")) {
            st.setLong(1, lease.toMillis());
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (SQLException e) {
            throw new SchedulerException("could not count live instances", e);
        }
    }

    public List<InstanceRow> findAll() {
        try (Connection c = dataSource.getConnection();
                var st = c.prepareStatement("""
                        select i.id, i.host, i.version, i.started_at, i.heartbeat_at, i.state,
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
                        rs.getInt("running")));
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
                var st = c.prepareStatement("""
                        delete from instances i
                         where i.id in (select g.id from instances g
                                         where g.state = 'GONE' and g.heartbeat_at < now() - ? * interval '1 millisecond'
                                         order by g.heartbeat_at
                                         limit ?)
                           -- Checked again on the row as it is when deleted: it may have come back meanwhile.
                           and i.state = 'GONE'
                           and i.heartbeat_at < now() - ? * interval '1 millisecond'
                           and not %s
                           and not exists (select 1 from tasks t where t.owner_instance = i.id)
                        """.formatted(SESSION_ALIVE.formatted("i.session_key")))) {
            st.setLong(1, goneFor.toMillis());
            st.setInt(2, limit);
            st.setLong(3, goneFor.toMillis());
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

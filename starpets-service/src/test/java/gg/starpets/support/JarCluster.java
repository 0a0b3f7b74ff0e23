package gg.starpets.support;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Processes of the real jar on a database of their own, and a small pool for the test to look at
 * that database. Closing stops every process, then the pool.
 */
public final class JarCluster implements AutoCloseable {

    private final String database = TestPostgres.createDatabase();
    private final HikariDataSource db = TestPostgres.pool(database, 2);
    private final List<AppProcess> processes = new ArrayList<>();

    /** Settings that point an instance at this cluster's database, to add the test's own to. */
    public Map<String, Object> settings() {
        return AppProcess.databaseSettings(database);
    }

    public AppProcess start(String instanceId, Map<String, Object> settings) throws Exception {
        AppProcess process = AppProcess.start(instanceId, settings);
        processes.add(process);
        return process;
    }

    public List<AppProcess> processes() {
        return List.copyOf(processes);
    }

    public Connection connection() throws SQLException {
        return db.getConnection();
    }

    /** The first column of the first row, as a number. */
    public long count(String sql) {
        try (var c = db.getConnection();
                var rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (Exception e) {
            throw new IllegalStateException(sql, e);
        }
    }

    /** The first column of every row, as text. */
    public List<String> strings(String sql) {
        try (var c = db.getConnection();
                var rs = c.createStatement().executeQuery(sql)) {
            List<String> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
            return rows;
        } catch (Exception e) {
            throw new IllegalStateException(sql, e);
        }
    }

    /**
     * The database's view of the cluster, for a failure message: tasks, instances, runs, and the
     * sessions on this database with the locks they wait for.
     */
    public String describe() {
        StringBuilder out = new StringBuilder();
        for (String sql : List.of(
                "select name, owner_instance, owner_session, lease_until, now() as now, current_run_id, fence,"
                        + " next_run_at, owner_lock_seen_at from tasks",
                "select id, session_key, state, started_at, heartbeat_at, claiming, settled_at from instances",
                "select id, task_name, status, instance_id, started_at, finished_at, error from task_runs order by id",
                "select pid, application_name, state, wait_event_type, wait_event, xact_start, left(query, 120)"
                        + " from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
                "select l.pid, l.locktype, l.mode, l.granted, l.relation::regclass, l.objid from pg_locks l"
                        + " join pg_stat_activity a on a.pid = l.pid where a.datname = current_database()"
                        + " and l.locktype in ('advisory', 'transactionid', 'tuple')")) {
            out.append("-- ").append(sql).append('\n');
            try (var c = db.getConnection();
                    var rs = c.createStatement().executeQuery(sql)) {
                int columns = rs.getMetaData().getColumnCount();
                while (rs.next()) {
                    for (int i = 1; i <= columns; i++) {
                        out.append(i > 1 ? " | " : "").append(rs.getString(i));
                    }
                    out.append('\n');
                }
            } catch (Exception e) {
                out.append("(failed: ").append(e.getMessage()).append(")\n");
            }
        }
        return out.toString();
    }

    public void execute(String sql) throws SQLException {
        try (var c = db.getConnection();
                var st = c.createStatement()) {
            st.execute(sql);
        }
    }

    @Override
    public void close() throws InterruptedException {
        try {
            for (AppProcess p : processes) {
                p.close();
            }
        } finally {
            db.close();
        }
    }
}

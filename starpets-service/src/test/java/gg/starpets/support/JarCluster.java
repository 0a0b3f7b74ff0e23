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

package gg.starpets.chaos;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.chaos.ChaosJudge.RunRow;
import gg.starpets.support.AppProcess;
import gg.starpets.support.StoppablePostgres;
import gg.starpets.support.TcpProxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the chaos suite runs: its own PostgreSQL 17 (restartable on the same port), and instances of the
 * packaged jar, each connected through a TCP proxy of its own so that one instance's network can be cut.
 * The suite itself reads the database directly, not through any proxy.
 */
final class ChaosCluster implements AutoCloseable {

    /** One instance: its instance id and proxy stay; its process is replaced when it is started again. */
    static final class Instance {
        final String instanceId;
        final TcpProxy proxy;
        volatile AppProcess process;

        Instance(String instanceId, TcpProxy proxy) {
            this.instanceId = instanceId;
            this.proxy = proxy;
        }
    }

    private final ChaosSettings settings;
    final StoppablePostgres postgres;
    final Path witnessDir;
    final List<Instance> instances = new ArrayList<>();
    /** When each process that died did, epoch µs. */
    final Map<Long, Long> deaths = new ConcurrentHashMap<>();

    private final HikariDataSource db;

    private ChaosCluster(ChaosSettings settings, StoppablePostgres postgres, Path witnessDir) {
        this.settings = settings;
        this.postgres = postgres;
        this.witnessDir = witnessDir;
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl("jdbc:postgresql://127.0.0.1:" + postgres.port() + "/" + StoppablePostgres.DATABASE);
        config.setUsername("postgres");
        config.setPassword("postgres");
        config.setMaximumPoolSize(2);
        config.setConnectionTimeout(2_000);
        config.setInitializationFailTimeout(-1);
        config.addDataSourceProperty("ApplicationName", "chaos-suite");
        config.addDataSourceProperty("socketTimeout", "10");
        this.db = new HikariDataSource(config);
    }

    static ChaosCluster start(ChaosSettings settings) throws Exception {
        ChaosCluster cluster = new ChaosCluster(
                settings, StoppablePostgres.start(), Files.createTempDirectory("starpets-chaos-witness-"));
        for (int i = 1; i <= settings.instances(); i++) {
            cluster.instances.add(new Instance("chaos-" + i, new TcpProxy(cluster.postgres.port())));
        }
        for (Instance c : cluster.instances) {
            cluster.startProcess(c);
        }
        return cluster;
    }

    void startProcess(Instance c) throws Exception {
        Map<String, Object> s = new HashMap<>();
        s.put("starpets.db.host", "127.0.0.1");
        s.put("starpets.db.port", c.proxy.port());
        s.put("starpets.db.name", StoppablePostgres.DATABASE);
        s.put("starpets.db.pool-size", 5);
        s.put("starpets.witness.dir", witnessDir);
        s.put("starpets.scheduler.lease", settings.lease().toMillis() + "ms");
        s.put("starpets.scheduler.heartbeat", settings.heartbeat().toMillis() + "ms");
        // Faults, not handlers, lose these runs: a task on several victims in a row is not to be quarantined.
        s.put("starpets.scheduler.quarantine-after", "0");
        for (int i = 0; i < settings.tasks(); i++) {
            String prefix = "starpets.tasks[" + i + "].";
            s.put(prefix + "name", taskNames().get(i));
            s.put(prefix + "handler", "witness");
            s.put(prefix + "schedule", settings.schedule());
            // Far beyond a run's length: a run paused while its instance is unsure of its session is not a timeout.
            s.put(prefix + "timeout", "10m");
            s.put(prefix + "params.duration", settings.runDuration().toMillis() + "ms");
            s.put(prefix + "params.step", settings.step().toMillis() + "ms");
        }
        c.process = AppProcess.start(c.instanceId, s);
    }

    /** SIGKILL; returns when the process is reaped (its death time is then known). */
    void kill(Instance c) throws InterruptedException {
        long pid = c.process.pid();
        c.process.kill();
        deaths.put(pid, nowMicros());
    }

    /** SIGTERM and wait; an instance that does not exit within the limit is killed. Returns whether it exited. */
    boolean terminate(Instance c, Duration limit) throws InterruptedException {
        long pid = c.process.pid();
        boolean exited = c.process.terminate(limit);
        if (!exited) {
            c.process.kill();
        }
        deaths.put(pid, nowMicros());
        return exited;
    }

    List<String> taskNames() {
        return java.util.stream.IntStream.rangeClosed(1, settings.tasks())
                .mapToObj("witness-%02d"::formatted)
                .toList();
    }

    List<String> instanceIds() {
        return instances.stream().map(c -> c.instanceId).toList();
    }

    static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
    }

    static long micros(Timestamp ts) {
        Instant i = ts.toInstant();
        return i.getEpochSecond() * 1_000_000 + i.getNano() / 1_000;
    }

    // --- the database, read directly ---------------------------------------------------------------

    long count(String sql, Object... params) throws SQLException {
        try (Connection c = db.getConnection();
                PreparedStatement st = prepare(c, sql, params);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    List<String> strings(String sql, Object... params) throws SQLException {
        try (Connection c = db.getConnection();
                PreparedStatement st = prepare(c, sql, params);
                ResultSet rs = st.executeQuery()) {
            List<String> out = new ArrayList<>();
            while (rs.next()) {
                out.add(rs.getString(1));
            }
            return out;
        }
    }

    /** Runs still RUNNING: id, start, and whether a live instance's live session owns it as its task's current run. */
    record OpenRun(long id, String task, long startedMicros, boolean ownedByLiveInstance) {}

    List<OpenRun> openRuns() throws SQLException {
        try (Connection c = db.getConnection();
                PreparedStatement st = prepare(c, """
                        select r.id, r.task_name, r.started_at, i.id is not null
                          from task_runs r
                          left join tasks t on t.current_run_id = r.id and t.owner_session is not null
                          left join instances i on i.id = t.owner_instance and i.session_key = t.owner_session
                                               and i.state <> 'GONE' and i.id = any(?)
                         where r.status = 'RUNNING'
                        """, (Object) instanceIds().toArray(String[]::new));
                ResultSet rs = st.executeQuery()) {
            List<OpenRun> out = new ArrayList<>();
            while (rs.next()) {
                out.add(new OpenRun(rs.getLong(1), rs.getString(2), micros(rs.getTimestamp(3)), rs.getBoolean(4)));
            }
            return out;
        }
    }

    List<RunRow> runs() throws SQLException {
        try (Connection c = db.getConnection();
                PreparedStatement st = c.prepareStatement(
                        "select id, task_name, instance_id, status, started_at, finished_at from task_runs");
                ResultSet rs = st.executeQuery()) {
            List<RunRow> out = new ArrayList<>();
            while (rs.next()) {
                Timestamp finished = rs.getTimestamp(6);
                out.add(new RunRow(
                        rs.getLong(1),
                        rs.getString(2),
                        rs.getString(3),
                        rs.getString(4),
                        micros(rs.getTimestamp(5)),
                        finished == null ? null : micros(finished)));
            }
            return out;
        }
    }

    private static PreparedStatement prepare(Connection c, String sql, Object... params) throws SQLException {
        PreparedStatement st = c.prepareStatement(sql);
        for (int i = 0; i < params.length; i++) {
            Object p = params[i];
            if (p instanceof String[] a) {
                st.setArray(i + 1, c.createArrayOf("text", a));
            } else if (p instanceof Integer[] a) {
                st.setArray(i + 1, c.createArrayOf("integer", a));
            } else {
                st.setObject(i + 1, p);
            }
        }
        return st;
    }

    @Override
    public void close() throws Exception {
        for (Instance c : instances) {
            if (c.process != null && c.process.alive()) {
                kill(c);
            }
            c.proxy.close();
        }
        db.close();
        postgres.close();
    }
}

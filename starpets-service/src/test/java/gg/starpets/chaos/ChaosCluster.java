package gg.starpets.chaos;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.chaos.ChaosJudge.RunRow;
import gg.starpets.support.AppProcess;
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
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What the chaos suite runs: its own PostgreSQL 17 ({@link ChaosPostgres}: restartable, crash-restartable,
 * with a standby to promote), the sql witness's sampler, and instances of the packaged jar, each connected
 * through a TCP proxy of its own so that one instance's network can be cut (and all of them follow a
 * promoted standby). The suite itself reads the database directly, not through any proxy.
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

    /** One process of an instance, from when it was started (epoch µs). */
    private record Life(String instanceId, long pid, long startedMicros) {}

    private final ChaosSettings settings;
    final ChaosPostgres postgres;
    final Path witnessDir;
    /** The exec witness program ({@code bench/chaos-exec-witness.sh}). */
    private final Path execWitness;

    final List<Instance> instances = new ArrayList<>();
    /** When each process that died did, epoch µs. */
    final Map<Long, Long> deaths = new ConcurrentHashMap<>();

    private final List<Life> lives = new CopyOnWriteArrayList<>();
    private volatile HikariDataSource db;
    /** The sql witness's sampler; null when no sql task runs. */
    SqlWitness sql;

    private boolean closed;

    private ChaosCluster(ChaosSettings settings, ChaosPostgres postgres, Path witnessDir, Path execWitness) {
        this.settings = settings;
        this.postgres = postgres;
        this.witnessDir = witnessDir;
        this.execWitness = execWitness;
        this.db = pool();
    }

    private HikariDataSource pool() {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(postgres.jdbcUrl());
        config.setUsername("postgres");
        config.setPassword("postgres");
        config.setMaximumPoolSize(2);
        config.setConnectionTimeout(2_000);
        config.setInitializationFailTimeout(-1);
        config.addDataSourceProperty("ApplicationName", "chaos-suite");
        config.addDataSourceProperty("socketTimeout", "10");
        return new HikariDataSource(config);
    }

    /** Starts the database (and a standby if a promotion is to come), the sql sampler, then the instances. */
    static ChaosCluster start(ChaosSettings settings, Path execWitness) throws Exception {
        if (settings.handlers().contains(HandlerKind.EXEC) && !Files.isExecutable(execWitness)) {
            throw new IllegalStateException("the exec witness program is missing or not executable: " + execWitness);
        }
        ChaosCluster cluster = new ChaosCluster(
                settings,
                ChaosPostgres.start(SqlWitness::createSchema),
                Files.createTempDirectory("starpets-chaos-witness-"),
                execWitness.toAbsolutePath());
        if (settings.kinds().contains(FaultKind.PG_PROMOTE)) {
            cluster.postgres.prepareStandby();
        }
        if (settings.handlers().contains(HandlerKind.SQL)) {
            cluster.sql = new SqlWitness(cluster.sqlDatabase(), cluster.witnessDir, settings.step());
        }
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
        s.put("starpets.db.name", ChaosPostgres.DATABASE);
        s.put("starpets.db.pool-size", 5);
        s.put("starpets.witness.dir", witnessDir);
        s.put("starpets.scheduler.lease", settings.lease().toMillis() + "ms");
        s.put("starpets.scheduler.heartbeat", settings.heartbeat().toMillis() + "ms");
        // Faults, not handlers, lose these runs: a task on several victims in a row is not to be quarantined.
        s.put("starpets.scheduler.quarantine-after", "0");
        if (!settings.groupTasks().isEmpty()) {
            s.put("starpets.groups." + ChaosSettings.GROUP + ".max-concurrent", settings.groupLimit());
        }
        List<String> names = settings.taskNames();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            HandlerKind kind = HandlerKind.ofTask(name);
            String prefix = "starpets.tasks[" + i + "].";
            s.put(prefix + "name", name);
            s.put(prefix + "handler", kind.id());
            s.put(prefix + "schedule", settings.schedule());
            // Far beyond a run's length: a run paused while its instance is unsure of its session is not a timeout.
            s.put(prefix + "timeout", "10m");
            switch (kind) {
                case WITNESS -> {
                    if (settings.groupTasks().contains(name)) {
                        s.put(prefix + "concurrency-group", ChaosSettings.GROUP);
                    }
                    s.put(prefix + "params.duration", settings.runDuration().toMillis() + "ms");
                    s.put(prefix + "params.step", settings.step().toMillis() + "ms");
                }
                case EXEC -> {
                    s.put(prefix + "params.command[0]", execWitness);
                    s.put(prefix + "params.command[1]", witnessDir);
                    s.put(prefix + "params.command[2]", settings.runDuration().toMillis());
                    s.put(prefix + "params.command[3]", settings.step().toMillis());
                }
                case SQL -> s.put(prefix + "params.statement", SqlWitness.statement(name, settings.runDuration()));
            }
        }
        c.process = AppProcess.start(c.instanceId, s);
        long pid = c.process.pid();
        deaths.remove(pid); // a pid used again (at most 32768 here): this process is alive
        lives.add(new Life(c.instanceId, pid, nowMicros()));
    }

    /** How the sql sampler reaches the server (wherever it is now) and finds whose a backend is. */
    private SqlWitness.Database sqlDatabase() {
        return new SqlWitness.Database() {
            @Override
            public Connection connect(String applicationName) throws SQLException {
                return postgres.connect(applicationName);
            }

            @Override
            public String instance(String application, int clientPort) {
                return instanceOf(application, clientPort);
            }

            @Override
            public long jvm(String instance, long backendStart) {
                return jvmOf(instance, backendStart);
            }
        };
    }

    /** The instance of a backend: by its application name ({@code starpets-…-<instance>}), else by its proxy's port. */
    String instanceOf(String application, int clientPort) {
        for (Instance c : instances) {
            if (application != null && application.endsWith("-" + c.instanceId)) {
                return c.instanceId;
            }
        }
        for (Instance c : instances) {
            if (clientPort > 0 && c.proxy.upstreamPorts().contains(clientPort)) {
                return c.instanceId;
            }
        }
        return null;
    }

    /** The process of {@code instance} that was running at {@code micros}: the last one started by then. */
    long jvmOf(String instance, long micros) {
        long pid = 0;
        for (Life l : lives) {
            if (l.instanceId().equals(instance) && (pid == 0 || l.startedMicros() <= micros)) {
                pid = l.pid();
            }
        }
        return pid;
    }

    /** After a promotion: new connections, the instances' and the suite's own, go to the new primary. */
    void primaryMoved() {
        for (Instance c : instances) {
            c.proxy.retarget(postgres.port());
        }
        HikariDataSource old = db;
        db = pool();
        old.close();
    }

    /** Whether this process (a JVM of an instance) is alive, as far as the suite knows. */
    boolean alive(long pid) {
        return !deaths.containsKey(pid);
    }

    /**
     * SIGKILL to what is left of the exec witness programs (orphans of a killed instance, on an engine
     * that leaves them): the processes whose command line names this suite's witness directory.
     * Returns how many there were.
     */
    int killLeftoverPrograms() {
        String dir = witnessDir.toString();
        List<ProcessHandle> left = ProcessHandle.allProcesses()
                .filter(p ->
                        p.info().arguments().map(a -> List.of(a).contains(dir)).orElse(false))
                .filter(p -> p.info()
                        .commandLine()
                        .map(l -> l.contains(execWitness.getFileName().toString()))
                        .orElse(false))
                .toList();
        left.forEach(ProcessHandle::destroyForcibly);
        return left.size();
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
        return settings.taskNames();
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

    /** Runs that ended within the last {@code seconds}: id and end, epoch µs. */
    Map<Long, Long> recentlyEnded(long seconds) throws SQLException {
        try (Connection c = db.getConnection();
                PreparedStatement st = prepare(c, """
                        select id, finished_at from task_runs
                         where status <> 'RUNNING' and finished_at > now() - ? * interval '1 second'
                        """, seconds);
                ResultSet rs = st.executeQuery()) {
            Map<Long, Long> out = new HashMap<>();
            while (rs.next()) {
                out.put(rs.getLong(1), micros(rs.getTimestamp(2)));
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

    /** Stops everything it started; safe to call twice (the suite's end, then its shutdown hook). */
    @Override
    public synchronized void close() throws Exception {
        if (closed) {
            return;
        }
        closed = true;
        for (Instance c : instances) {
            if (c.process != null && c.process.alive()) {
                kill(c);
            }
            c.proxy.close();
        }
        killLeftoverPrograms();
        if (sql != null) {
            sql.close();
        }
        db.close();
        postgres.close();
    }
}

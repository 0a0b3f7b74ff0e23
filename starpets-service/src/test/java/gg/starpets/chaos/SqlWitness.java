package gg.starpets.chaos;

import static gg.starpets.chaos.ChaosCluster.micros;

import gg.starpets.chaos.WitnessLog.Event;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code sql} witness, seen from outside every JVM under test. Each sql task's statement sleeps
 * for the run's length on the server, then inserts one row into {@code chaos.sql_witness}: a row
 * exists only for committed work, and its commit time ({@code track_commit_timestamp}) says when that
 * work became visible. A sampler (a thread of the suite, with its own connection) reads
 * {@code pg_stat_activity} every step: a statement is live from the start of its transaction (the
 * handler's) until PostgreSQL shows it finished ({@code state_change}) or its backend gone; a committed
 * one until its commit. Statements are told apart by a leading comment naming their task; an execution
 * is one backend's one transaction ({@code s:<backend pid>:<xact_start µs>}), which the statement also
 * writes into its row. Not {@code query_start}: under the extended protocol it moves between a
 * statement's Parse and its Execute, and so would a sample taken in between.
 */
final class SqlWitness implements AutoCloseable {

    static final String FILE = "witness-sql.log";

    /** The suite's own schema; not under Flyway (the service's migrations see only {@code public}). */
    static void createSchema(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("create schema chaos");
            st.execute("""
                    create table chaos.sql_witness (
                        task          text        not null,
                        backend_pid   int         not null,
                        backend_start timestamptz,
                        application   text,
                        xact_start    timestamptz not null,
                        ended_at      timestamptz not null)
                    """);
            // sql tasks run as their own role (db/roles.sql), which may write here and nowhere else.
            st.execute("grant usage on schema chaos to starpets_sql");
            st.execute("grant insert on chaos.sql_witness to starpets_sql");
        }
    }

    /** The statement of sql task {@code task}: a marker comment, then {@code run} of sleep, then its row. */
    static String statement(String task, Duration run) {
        return ("/* chaos-sql:%s */ insert into chaos.sql_witness select '%s', pg_backend_pid(), a.backend_start,"
                        + " a.application_name, a.xact_start, clock_timestamp()"
                        + " from pg_sleep(%.3f) s, pg_stat_activity a where a.pid = pg_backend_pid()")
                .formatted(task, task, run.toMillis() / 1000.0);
    }

    /** One client backend as {@code pg_stat_activity} showed it; {@code task} null for a statement of no sql task. */
    record Backend(
            long pid,
            String state,
            long xactStart,
            long stateChange,
            long backendStart,
            String application,
            int clientPort,
            String task) {

        String execution() {
            return "s:" + pid + ":" + xactStart;
        }
    }

    /** Whose execution a statement is: the instance, its JVM, the run and fence (0 where unknown). */
    record Origin(String instance, long host, long runId, long fence) {}

    /** Finds the origin of a statement; called once per execution. */
    interface Origins {
        Origin of(String task, String application, int clientPort, long backendStart, long start) throws SQLException;
    }

    /** Turns successive samples into witness events. */
    static final class Observer {

        private final Map<String, Origin> origins = new HashMap<>();
        /** The execution each backend is in, as first seen. */
        private final Map<Long, Backend> live = new HashMap<>();
        /** When each live execution was last seen at work. */
        private final Map<String, Long> lastSeen = new HashMap<>();
        /** Executions whose backend went away while they worked. */
        private final List<Vanished> vanished = new ArrayList<>();

        /** An execution whose backend was last seen at work at {@code lastSeen}, and missing at {@code missedAt}. */
        private record Vanished(Backend backend, long lastSeen, long missedAt) {}

        private final Set<String> ended = new HashSet<>();

        /**
         * The events one sample at {@code now} shows (every client backend, with or without a task's
         * statement): starts and steps of the executions running, ends of those that finished.
         */
        List<Event> observe(long now, List<Backend> backends, Origins resolve) throws SQLException {
            // Lookups first: one that fails (the server going away) changes nothing; the next sample sees it all again.
            for (Backend b : backends) {
                if (starts(b) && origins.get(b.execution()) == null) {
                    origins.put(
                            b.execution(),
                            resolve.of(b.task(), b.application(), b.clientPort(), b.backendStart(), b.xactStart()));
                }
            }
            List<Event> events = new ArrayList<>();
            Set<Long> present = new HashSet<>();
            for (Backend b : backends) {
                present.add(b.pid());
                Backend t = live.get(b.pid());
                if (t != null && t.xactStart() != b.xactStart()) {
                    // Its transaction is over: exactly when if the backend has been idle since, else unknown.
                    boolean idle = "idle".equals(b.state());
                    end(events, t, idle ? b.stateChange() : now, idle ? "done" : "gone");
                    t = null;
                }
                if (t == null) {
                    if (!starts(b)) {
                        continue;
                    }
                    t = b;
                    live.put(b.pid(), b);
                    events.add(event(b.xactStart(), false, b, ""));
                }
                if ("active".equals(b.state())) {
                    events.add(event(now, false, t, ""));
                    lastSeen.put(t.execution(), now);
                } else {
                    end(events, t, b.stateChange(), outcome(b.state()));
                }
            }
            for (Backend t : List.copyOf(live.values())) {
                if (!present.contains(t.pid())) {
                    // Terminated or crashed: its end is not known here; its server's log may tell (exits()).
                    vanished.add(new Vanished(t, lastSeen.getOrDefault(t.execution(), t.xactStart()), now));
                    end(events, t, now, "gone");
                }
            }
            return events;
        }

        /** A task's statement in a transaction not seen before. */
        private boolean starts(Backend b) {
            return b.task() != null
                    && b.xactStart() != 0
                    && !ended.contains(b.execution())
                    && (live.get(b.pid()) == null || live.get(b.pid()).xactStart() != b.xactStart());
        }

        private void end(List<Event> events, Backend t, long at, String outcome) {
            events.add(event(at, true, t, outcome));
            ended.add(t.execution());
            live.remove(t.pid());
            lastSeen.remove(t.execution());
        }

        /**
         * The exact ends ({@code exited}) of executions whose backend went away between two samples, from
         * when each backend process exited ({@code log_disconnections}, by pid, epoch µs): the first exit
         * of that pid after it was last seen at work and by the sample that missed it. A backend that
         * crashed logs no exit; its execution keeps its last step plus a step.
         */
        List<Event> exits(Map<Long, List<Long>> exitsByPid) {
            List<Event> events = new ArrayList<>();
            for (Vanished v : vanished) {
                exitsByPid.getOrDefault(v.backend().pid(), List.of()).stream()
                        // The log line is written just after the backend left pg_stat_activity: a little slack.
                        .filter(t -> t >= v.lastSeen() && t <= v.missedAt() + 1_000_000)
                        .min(Long::compare)
                        .ifPresent(t -> events.add(event(t, true, v.backend(), "exited")));
            }
            return events;
        }

        /** The events of committed work: its start, and its commit ({@code committed}) that makes it live until then. */
        List<Event> committed(List<CommittedRow> rows, Origins resolve) throws SQLException {
            List<Event> events = new ArrayList<>();
            for (CommittedRow r : rows) {
                Backend b = new Backend(
                        r.backendPid(),
                        "idle",
                        r.startedMicros(),
                        r.endedMicros(),
                        r.backendStartMicros(),
                        r.application(),
                        0,
                        r.task());
                String id = b.execution();
                if (origins.get(id) == null) {
                    origins.put(
                            id, resolve.of(r.task(), r.application(), 0, r.backendStartMicros(), r.startedMicros()));
                }
                events.add(event(r.startedMicros(), false, b, ""));
                events.add(event(r.committedMicros(), true, b, "committed"));
            }
            return events;
        }

        private Event event(long micros, boolean end, Backend b, String outcome) {
            Origin o = origins.get(b.execution());
            return new Event(
                    micros,
                    end,
                    b.task(),
                    o.runId(),
                    o.fence(),
                    b.pid(),
                    o.instance(),
                    outcome,
                    HandlerKind.SQL,
                    o.host(),
                    b.execution());
        }

        private static String outcome(String state) {
            return switch (state) {
                case "idle", "idle in transaction" -> "done";
                case "idle in transaction (aborted)" -> "failed";
                default -> state.replace(' ', '_');
            };
        }
    }

    /** A row of {@code chaos.sql_witness}: work that committed, at {@code committedMicros}. */
    record CommittedRow(
            String task,
            long backendPid,
            long backendStartMicros,
            String application,
            long startedMicros,
            long endedMicros,
            long committedMicros) {}

    /** Where the server is now (it moves on a promotion), and how a statement's origin is found. */
    interface Database {
        Connection connect(String applicationName) throws SQLException;

        /** The instance a backend serves, from its application name or its proxy's port; null if none. */
        String instance(String application, int clientPort);

        /** The JVM of {@code instance} that opened a connection at {@code backendStart}; 0 if unknown. */
        long jvm(String instance, long backendStart);
    }

    /** A run's own session, as the sql handler names it while it works ({@code starpets-run-<id>}). */
    private static final Pattern RUN_SESSION = Pattern.compile("starpets-run-(\\d+)");

    private static final String SAMPLE = """
            select c.now, a.pid, a.state, a.xact_start, a.state_change, a.backend_start, a.application_name,
                   a.client_port, a.task
              from (select clock_timestamp() as now) c
              left join (select pid, state, xact_start, state_change, backend_start, application_name, client_port,
                                substring(query from '^/\\* chaos-sql:([A-Za-z0-9_-]+) \\*/') as task
                           from pg_stat_activity
                          where backend_type = 'client backend' and pid <> pg_backend_pid()) a on true
            """;
    private static final String RUN_BY_ID = "select instance_id, fence from task_runs where id = ?";
    private static final String RUN = """
            select id, fence from task_runs
             where task_name = ? and instance_id = ? and started_at <= ?
             order by started_at desc limit 1
            """;

    private final Database database;
    private final Duration period;
    private final OutputStream out;
    private final Observer observer = new Observer();
    private final Thread thread;
    private volatile boolean stopping;
    private Connection connection;
    private long samples;
    private long failures;

    /** Starts sampling every {@code period}, writing to {@link #FILE} in {@code dir}. */
    SqlWitness(Database database, Path dir, Duration period) throws IOException {
        this.database = database;
        this.period = period;
        this.out = new FileOutputStream(dir.resolve(FILE).toFile(), true);
        this.thread = Thread.ofPlatform().name("chaos-sql-sampler").daemon().start(this::loop);
    }

    private void loop() {
        while (!stopping) {
            long start = System.nanoTime();
            sampleOnce();
            long left = period.toNanos() - (System.nanoTime() - start);
            if (left > 0) {
                try {
                    Thread.sleep(Duration.ofNanos(left));
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private synchronized void sampleOnce() {
        try {
            if (connection == null) {
                connection = database.connect("chaos-sql-sampler");
            }
            long now = 0;
            List<Backend> backends = new ArrayList<>();
            try (Statement st = connection.createStatement();
                    ResultSet rs = st.executeQuery(SAMPLE)) {
                while (rs.next()) {
                    now = micros(rs.getTimestamp(1));
                    if (rs.getObject(2) != null) {
                        backends.add(new Backend(
                                rs.getLong(2),
                                rs.getString(3),
                                microsOrZero(rs.getTimestamp(4)),
                                microsOrZero(rs.getTimestamp(5)),
                                microsOrZero(rs.getTimestamp(6)),
                                rs.getString(7),
                                rs.getInt(8),
                                rs.getString(9)));
                    }
                }
            }
            write(observer.observe(now, backends, this::origin));
            samples++;
        } catch (SQLException e) {
            failures++;
            closeConnection();
        }
    }

    /**
     * A session named for its run says which run it is; else the run is the latest of the task on the
     * backend's instance that started before the statement's transaction.
     */
    private Origin origin(String task, String application, int clientPort, long backendStart, long start)
            throws SQLException {
        Matcher run = RUN_SESSION.matcher(application == null ? "" : application);
        if (run.matches()) {
            long runId = Long.parseLong(run.group(1));
            try (PreparedStatement st = connection.prepareStatement(RUN_BY_ID)) {
                st.setLong(1, runId);
                try (ResultSet rs = st.executeQuery()) {
                    if (rs.next()) {
                        String instance = rs.getString(1);
                        return new Origin(instance, database.jvm(instance, backendStart), runId, rs.getLong(2));
                    }
                    return new Origin("-", 0, runId, 0);
                }
            }
        }
        String instance = database.instance(application, clientPort);
        if (instance == null) {
            return new Origin("-", 0, 0, 0);
        }
        long jvm = database.jvm(instance, backendStart);
        try (PreparedStatement st = connection.prepareStatement(RUN)) {
            st.setString(1, task);
            st.setString(2, instance);
            st.setTimestamp(3, timestamp(start));
            try (ResultSet rs = st.executeQuery()) {
                return rs.next()
                        ? new Origin(instance, jvm, rs.getLong(1), rs.getLong(2))
                        : new Origin(instance, jvm, 0, 0);
            }
        }
    }

    /**
     * Stops sampling (after one last sample) and returns the events of committed work, read from the
     * witness table; writes them, and the exact ends of statements whose backend went away between two
     * samples ({@code exitsByPid}: when each backend exited, from the server's log). Call once the
     * instances are gone.
     */
    List<Event> stopAndReadCommitted(Map<Long, List<Long>> exitsByPid) throws SQLException, InterruptedException {
        stopping = true;
        thread.interrupt();
        thread.join(Duration.ofSeconds(10));
        synchronized (this) {
            List<Event> events = readCommitted();
            write(observer.exits(exitsByPid));
            return events;
        }
    }

    private List<Event> readCommitted() throws SQLException {
        sampleOnce();
        closeConnection();
        connection = database.connect("chaos-sql-sampler");
        try {
            List<CommittedRow> rows = new ArrayList<>();
            try (Statement st = connection.createStatement();
                    ResultSet rs = st.executeQuery("""
                            select task, backend_pid, backend_start, application, xact_start, ended_at,
                                   pg_xact_commit_timestamp(xmin)
                              from chaos.sql_witness
                            """)) {
                while (rs.next()) {
                    Timestamp committed = rs.getTimestamp(7);
                    rows.add(new CommittedRow(
                            rs.getString(1),
                            rs.getLong(2),
                            microsOrZero(rs.getTimestamp(3)),
                            rs.getString(4),
                            micros(rs.getTimestamp(5)),
                            micros(rs.getTimestamp(6)),
                            // Without commit times (never here: the suite's server tracks them) the statement's end.
                            committed == null ? micros(rs.getTimestamp(6)) : micros(committed)));
                }
            }
            List<Event> events = observer.committed(rows, this::origin);
            write(events);
            return events;
        } finally {
            closeConnection();
        }
    }

    /** Samples taken, and samples that failed (the server down, restarting or moving). */
    synchronized String summary() {
        return samples + " samples of pg_stat_activity (" + failures + " failed while the server was unavailable)";
    }

    private void write(List<Event> events) {
        if (events.isEmpty()) {
            return;
        }
        StringBuilder text = new StringBuilder();
        events.forEach(e -> text.append(e.line()));
        try {
            out.write(text.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void closeConnection() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // Broken already.
            }
            connection = null;
        }
    }

    private static long microsOrZero(Timestamp ts) {
        return ts == null ? 0 : micros(ts);
    }

    private static Timestamp timestamp(long micros) {
        Timestamp ts = new Timestamp(Math.floorDiv(micros, 1000));
        ts.setNanos((int) Math.floorMod(micros, 1_000_000) * 1000);
        return ts;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        stopping = true;
        thread.interrupt();
        thread.join(Duration.ofSeconds(10));
        synchronized (this) {
            closeConnection();
        }
        out.close();
    }
}

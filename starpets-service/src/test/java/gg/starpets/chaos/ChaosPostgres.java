package gg.starpets.chaos;

import gg.starpets.config.DatabaseRoles;
import gg.starpets.support.TestPostgres;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The chaos suite's PostgreSQL 17: the embedded (zonky) binaries, run through {@code pg_ctl} so that
 * the server can be restarted on the same port and data, crash-restarted (one backend SIGKILLed: the
 * postmaster ends every session and reinitializes), and replaced by a streaming standby promoted while
 * the primary is stopped. The zonky bundle has only {@code initdb}, {@code pg_ctl} and {@code postgres}
 * (no {@code pg_basebackup}), but it has the WAL receiver: a standby's base backup is made with the
 * low-level API ({@code pg_backup_start}, a file copy, {@code pg_backup_stop}'s backup label).
 */
final class ChaosPostgres implements AutoCloseable {

    static final String DATABASE = "starpets";
    private static final String SLOT = "chaos_standby";
    private static final String READY = "database system is ready to accept connections";
    /**
     * How soon a standby tries again to reach its primary after losing it (a restart, a crash-restart):
     * PostgreSQL's default is 5 s, during which a promotion would lose what the primary commits.
     */
    static final Duration STANDBY_RETRY = Duration.ofMillis(100);
    /** Starting, stopping, promoting or catching up: each well within this on a loaded 2-core machine. */
    private static final Duration LIMIT = Duration.ofSeconds(60);
    /** Not part of a base backup (as pg_basebackup leaves them out): their contents are rebuilt or useless. */
    private static final Set<String> EMPTY_DIRS = Set.of(
            "pg_wal",
            "pg_replslot",
            "pg_stat_tmp",
            "pg_dynshmem",
            "pg_notify",
            "pg_serial",
            "pg_snapshots",
            "pg_subtrans");

    private static final Set<String> LEFT_OUT = Set.of(
            "postmaster.pid",
            "postmaster.opts",
            "epg-lock",
            "backup_label",
            "tablespace_map",
            "standby.signal",
            "recovery.signal");

    /** One server: its data, port and log. */
    record Server(Path dataDir, int port, Path log) {}

    private final Path bin;
    private final Path root;
    private final Duration standbyRetry;
    private volatile Server primary;
    private volatile Server standby;
    private int generation = 1;
    private boolean closed;

    private ChaosPostgres(Path bin, Path root, Duration standbyRetry, Server primary) {
        this.bin = bin;
        this.root = root;
        this.standbyRetry = standbyRetry;
        this.primary = primary;
    }

    /** A new server with the {@code starpets} database; {@code setup} runs there once, before anyone else connects. */
    static ChaosPostgres start(SqlSetup setup) throws Exception {
        return start(setup, STANDBY_RETRY);
    }

    /** The same, with a standby that tries again {@code standbyRetry} after losing its primary. */
    static ChaosPostgres start(SqlSetup setup, Duration standbyRetry) throws Exception {
        Path root = Files.createTempDirectory("starpets-chaos-pg-");
        Server first = new Server(root.resolve("data-1"), freePort(), root.resolve("data-1.log"));
        Path bin;
        // zonky unpacks the binaries and runs initdb; from then on the server is run through pg_ctl.
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder()
                .setDataDirectory(first.dataDir())
                .setCleanDataDirectory(false)
                .setPort(first.port())
                .start()) {
            long pid = Long.parseLong(Files.readAllLines(first.dataDir().resolve("postmaster.pid"))
                    .getFirst()
                    .strip());
            bin = Path.of(ProcessHandle.of(pid)
                            .flatMap(p -> p.info().command())
                            .orElseThrow(() -> new IllegalStateException("cannot find the postgres binary")))
                    .getParent();
            try (Connection c = pg.getPostgresDatabase().getConnection();
                    Statement st = c.createStatement()) {
                st.execute("create database " + DATABASE);
            }
            // StarPets' three roles, as every deployment has them: the instances run as starpets_app,
            // migrate as starpets_owner, and their sql tasks run as starpets_sql.
            DatabaseRoles.create(pg.getDatabase("postgres", DATABASE), DatabaseRoles.NO_PASSWORDS);
            try (Connection c = pg.getDatabase("postgres", DATABASE).getConnection()) {
                setup.run(c);
            }
        }
        ChaosPostgres postgres = new ChaosPostgres(bin, root, standbyRetry, first);
        postgres.pgCtlStart(first);
        return postgres;
    }

    /** What runs once on the new database (the suite's own schema). */
    interface SqlSetup {
        void run(Connection c) throws SQLException;
    }

    /** The primary's port: it changes when a standby is promoted. */
    int port() {
        return primary.port();
    }

    String jdbcUrl() {
        return TestPostgres.withTestSearchPath("jdbc:postgresql://127.0.0.1:" + port() + "/" + DATABASE);
    }

    /** A fast restart ({@code pg_ctl stop -m fast}, then start, same port and data); returns the downtime. */
    synchronized Duration fastRestart() throws IOException, InterruptedException {
        long start = System.nanoTime();
        pgCtl("-D", primary.dataDir().toString(), "-m", "fast", "-w", "-t", seconds(LIMIT), "stop");
        pgCtlStart(primary);
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /**
     * SIGKILL of one backend: the postmaster ends every other session, reinitializes shared memory and
     * recovers from WAL, without a restart of its own (so {@code pg_postmaster_start_time()} stays).
     * Returns when it accepts connections again, with the downtime.
     */
    synchronized Duration crashRestart(long backendPid) throws IOException, InterruptedException {
        long offset = Files.size(primary.log());
        long start = System.nanoTime();
        ProcessHandle backend =
                ProcessHandle.of(backendPid).orElseThrow(() -> new IllegalStateException("no backend " + backendPid));
        backend.destroyForcibly();
        awaitLog(primary.log(), offset, READY);
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /** Whether a standby is ready to be promoted. */
    boolean hasStandby() {
        return standby != null;
    }

    /**
     * A streaming standby of the primary, started now (its own postmaster, so its start time is
     * this moment's): base backup through the low-level API into a new data directory, a physical
     * replication slot so no WAL it needs is recycled, {@code standby.signal}. Returns once it streams.
     */
    synchronized void prepareStandby() throws IOException, SQLException, InterruptedException {
        if (standby != null) {
            return;
        }
        generation++;
        Server s =
                new Server(root.resolve("data-" + generation), freePort(), root.resolve("data-" + generation + ".log"));
        try (Connection c = connect(primary, "postgres");
                Statement st = c.createStatement()) {
            st.execute("select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = '" + SLOT
                    + "'");
            st.execute("select pg_create_physical_replication_slot('" + SLOT + "', true)");
            st.execute("select pg_backup_start('chaos-standby', true)");
            copyDataDir(primary.dataDir(), s.dataDir());
            try (ResultSet rs = st.executeQuery("select labelfile, spcmapfile from pg_backup_stop(false)")) {
                rs.next();
                Files.writeString(s.dataDir().resolve("backup_label"), rs.getString(1));
                String map = rs.getString(2);
                if (map != null && !map.isEmpty()) {
                    Files.writeString(s.dataDir().resolve("tablespace_map"), map);
                }
            }
        }
        Files.writeString(s.dataDir().resolve("standby.signal"), "");
        Files.writeString(
                s.dataDir().resolve("postgresql.auto.conf"),
                "\nprimary_conninfo = 'host=127.0.0.1 port=%d user=postgres application_name=chaos-standby'\nprimary_slot_name = '%s'\n"
                        .formatted(primary.port(), SLOT),
                StandardOpenOption.APPEND);
        pgCtlStart(s);
        awaitStreaming();
        standby = s;
    }

    /**
     * A switchover as an operator without a failover manager does it: once the standby streams, the
     * primary stopped ({@code -m fast}: it sends its last WAL to a connected standby first, so nothing
     * committed is lost), then {@code pg_ctl promote} on the standby, which becomes the primary on its
     * own port. Returns the downtime (from the stop) until the promoted server takes writes; the caller
     * points the clients at {@link #port()}. Fails rather than promote a standby that did not receive the
     * primary's last WAL: that would be a failover losing commits, which the suite does not inject.
     */
    synchronized Duration promote() throws IOException, InterruptedException {
        if (standby == null) {
            throw new IllegalStateException("no standby to promote");
        }
        // Right after a restart or a crash-restart the standby is still reconnecting: stopped then, the
        // primary would send nobody its last WAL, and the promoted standby would miss those commits.
        awaitStreaming();
        long standbyLog = Files.size(standby.log());
        long start = System.nanoTime();
        Server old = primary;
        pgCtl("-D", old.dataDir().toString(), "-m", "fast", "-w", "-t", seconds(LIMIT), "stop");
        // What the standby's WAL receiver logs when the primary ended replication with all its WAL sent.
        awaitLog(standby.log(), standbyLog, "replication terminated by primary server");
        pgCtl("-D", standby.dataDir().toString(), "-w", "-t", seconds(LIMIT), "promote");
        primary = standby;
        standby = null;
        Duration down = Duration.ofNanos(System.nanoTime() - start);
        deleteRecursively(old.dataDir());
        return down;
    }

    /** A connection to the primary's {@code starpets} database that gives up quickly while the server is down. */
    Connection connect(String applicationName) throws SQLException {
        return connect(primary, DATABASE, applicationName);
    }

    private static Connection connect(Server s, String database) throws SQLException {
        return connect(s, database, "chaos-suite");
    }

    private static Connection connect(Server s, String database, String applicationName) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("password", "postgres");
        p.setProperty("ApplicationName", applicationName);
        p.setProperty("connectTimeout", "2");
        p.setProperty("socketTimeout", "10");
        return DriverManager.getConnection(
                TestPostgres.withTestSearchPath("jdbc:postgresql://127.0.0.1:" + s.port() + "/" + database), p);
    }

    private void awaitStreaming() throws InterruptedException {
        long deadline = System.nanoTime() + LIMIT.toNanos();
        String why = "";
        while (System.nanoTime() < deadline) {
            try (Connection c = connect(primary, "postgres");
                    Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery(
                            "select count(*) from pg_stat_replication where application_name = 'chaos-standby'"
                                    + " and state = 'streaming'")) {
                rs.next();
                if (rs.getLong(1) > 0) {
                    return;
                }
                why = "not streaming yet";
            } catch (SQLException e) {
                why = e.getMessage();
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("the standby does not stream after " + LIMIT + ": " + why);
    }

    private void pgCtlStart(Server s) throws IOException, InterruptedException {
        // fsync off is safe here (no fault crashes the machine, the OS keeps what was written); synchronous_commit
        // stays on: off, a crash-restart drops commits already acknowledged (a run's end the instance recorded),
        // which no production server does and which the judge would blame on the engine.
        String options = "-p %d -F -c max_connections=300 -c timezone=UTC".formatted(s.port())
                + " -c wal_retrieve_retry_interval=%dms".formatted(standbyRetry.toMillis())
                // Commit times of the sql witness's rows: when committed work became visible.
                + " -c track_commit_timestamp=on"
                // When each backend exits (epoch, ms): the end of a statement whose backend went away between samples.
                + " -c log_disconnections=on -c log_line_prefix='%n [%p] '";
        pgCtl(
                "-D",
                s.dataDir().toString(),
                "-l",
                s.log().toString(),
                "-o",
                options,
                "-w",
                "-t",
                seconds(LIMIT),
                "start");
    }

    private void pgCtl(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            // pg_ctl and postgres refuse to run as root; in a user namespace of its own root is nobody (as zonky does
            // it).
            command.addAll(List.of("unshare", "-U"));
        }
        command.add(bin.resolve("pg_ctl").toString());
        command.addAll(List.of(args));
        Path out = root.resolve("pg_ctl.out");
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()))
                .start();
        if (!p.waitFor(LIMIT.toSeconds() + 10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("pg_ctl " + String.join(" ", args) + " did not finish; see " + out);
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException(
                    "pg_ctl " + String.join(" ", args) + " exited with " + p.exitValue() + "; see " + out);
        }
    }

    /** Waits until {@code text} appears in the log after {@code offset}. */
    private static void awaitLog(Path log, long offset, String text) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + LIMIT.toNanos();
        while (System.nanoTime() < deadline) {
            try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
                long length = f.length();
                if (length > offset) {
                    byte[] bytes = new byte[Math.toIntExact(length - offset)];
                    f.seek(offset);
                    f.readFully(bytes);
                    if (new String(bytes, StandardCharsets.UTF_8).contains(text)) {
                        return;
                    }
                }
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("'" + text + "' not in " + log + " after " + LIMIT);
    }

    /** A file copy of a running server's data directory, for a base backup between pg_backup_start and _stop. */
    private static void copyDataDir(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rwx------"));
        Files.walkFileTree(from, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                Path target = to.resolve(from.relativize(dir).toString());
                Files.createDirectories(target);
                Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwx------"));
                if (!dir.equals(from)
                        && EMPTY_DIRS.contains(from.relativize(dir).toString())) {
                    if (dir.endsWith("pg_wal")) {
                        Files.createDirectories(target.resolve("archive_status"));
                    }
                    return FileVisitResult.SKIP_SUBTREE;
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (file.getParent().equals(from)
                        && LEFT_OUT.contains(file.getFileName().toString())) {
                    return FileVisitResult.CONTINUE;
                }
                try {
                    Files.copy(file, to.resolve(from.relativize(file).toString()), StandardCopyOption.COPY_ATTRIBUTES);
                } catch (NoSuchFileException e) {
                    // Dropped while copying (a temporary file): WAL replay makes the copy consistent.
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }
        });
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static String seconds(Duration d) {
        return Long.toString(d.toSeconds());
    }

    private static final Pattern DISCONNECTION = Pattern.compile("^(\\d+)\\.(\\d{3}) \\[(\\d+)] LOG:  disconnection: ");

    /**
     * When each backend process exited, by pid, epoch µs, from every server's log ({@code
     * log_disconnections}; a backend that crashed, or was ended by a crash-restart, logs nothing). The
     * log's time is the millisecond it was written, just before the exit: rounded up here, so that an
     * exit is never placed before it happened.
     */
    Map<Long, List<Long>> disconnections() throws IOException {
        Map<Long, List<Long>> exits = new HashMap<>();
        try (var logs = Files.list(root)) {
            for (Path log : logs.filter(p -> p.getFileName().toString().endsWith(".log"))
                    .toList()) {
                for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                    Matcher m = DISCONNECTION.matcher(line);
                    if (m.find()) {
                        long micros = (Long.parseLong(m.group(1)) * 1000 + Long.parseLong(m.group(2)) + 1) * 1000;
                        exits.computeIfAbsent(Long.parseLong(m.group(3)), k -> new ArrayList<>())
                                .add(micros);
                    }
                }
            }
        }
        return exits;
    }

    /** Where the servers' logs are (kept after {@link #close()}). */
    Path logs() {
        return root;
    }

    /** Stops every server (immediate: nothing of it is kept) and deletes their data; the logs stay. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Server s : new Server[] {standby, primary}) {
            if (s == null) {
                continue;
            }
            try {
                pgCtl("-D", s.dataDir().toString(), "-m", "immediate", "-w", "-t", seconds(LIMIT), "stop");
            } catch (IOException | InterruptedException | IllegalStateException e) {
                // Already stopped; or the data goes anyway.
            }
            deleteRecursively(s.dataDir());
        }
    }
}

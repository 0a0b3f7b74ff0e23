package gg.starpets.support;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A PostgreSQL 17 primary of a test's own (a {@code starpets} database), optionally with a streaming
 * standby, both on the embedded (zonky) binaries: to see what the scheduler does when the server
 * crash-restarts (one backend SIGKILLed: the postmaster ends every session and reinitializes) and when
 * the standby is promoted with the primary stopped.
 *
 * <p>The zonky binaries hold only {@code initdb}, {@code pg_ctl} and {@code postgres}: no
 * {@code pg_basebackup}. The standby is made as a cold base backup: the primary is stopped cleanly,
 * its data directory copied, the copy given {@code standby.signal} and a {@code primary_conninfo},
 * then both are started; the standby streams from there (replication connections are trusted on
 * 127.0.0.1 by initdb's defaults). It is promoted with the binaries' own {@code pg_ctl promote}.
 */
public final class ReplicatedPostgres implements AutoCloseable {

    public static final String DATABASE = "starpets";

    private final Path primaryDir;
    // Kept for the object's life: the primary is restarted on its port, and the URL names both.
    private final ReservedPort primaryReserved = ReservedPort.take();
    private final ReservedPort standbyReserved = ReservedPort.take();
    private final int primaryPort = primaryReserved.number();
    private final int standbyPort = standbyReserved.number();
    private Path standbyDir;
    private EmbeddedPostgres primary;
    private EmbeddedPostgres standby;

    private ReplicatedPostgres(Path primaryDir) {
        this.primaryDir = primaryDir;
    }

    /** A primary with an empty {@code starpets} database; {@code prepare} runs on it before any standby exists. */
    public static ReplicatedPostgres start() throws IOException, SQLException {
        ReplicatedPostgres pg = new ReplicatedPostgres(Files.createTempDirectory("starpets-primary-pg"));
        pg.primary = pg.server(pg.primaryDir, pg.primaryPort);
        try (Connection c = pg.primary.getPostgresDatabase().getConnection();
                var st = c.createStatement()) {
            st.execute("create database " + DATABASE);
        }
        return pg;
    }

    /** A JDBC URL that reaches whichever of the two is the primary now (the standby once promoted). */
    public String url() {
        return "jdbc:postgresql://127.0.0.1:" + primaryPort + ",127.0.0.1:" + standbyPort + "/" + DATABASE
                + "?targetServerType=primary";
    }

    /** Makes a streaming standby of the primary (stopped for a moment for a cold base backup). */
    public synchronized void addStandby() throws IOException {
        primary.close();
        standbyDir = Files.createTempDirectory("starpets-standby-pg");
        copy(primaryDir, standbyDir);
        Files.deleteIfExists(standbyDir.resolve("postmaster.pid"));
        Files.writeString(standbyDir.resolve("standby.signal"), "");
        Files.writeString(
                standbyDir.resolve("postgresql.auto.conf"),
                "primary_conninfo = 'host=127.0.0.1 port=" + primaryPort + " user=postgres'\n",
                java.nio.file.StandardOpenOption.APPEND);
        primary = server(primaryDir, primaryPort);
        standby = server(standbyDir, standbyPort);
    }

    /** Whether the standby has replayed everything the primary has written so far. */
    public boolean standbyCaughtUp() throws SQLException {
        String written = single(primaryPort, "select pg_current_wal_lsn()::text");
        return Boolean.parseBoolean(
                single(standbyPort, "select (pg_last_wal_replay_lsn() >= '" + written + "'::pg_lsn)::text"));
    }

    /**
     * SIGKILLs one backend of the primary (an idle session of its own), as an out-of-memory killer
     * would: the postmaster ends every other session, reinitializes shared memory (every advisory lock
     * is gone), runs crash recovery and accepts connections again, its start time unchanged.
     */
    public void crashOneBackend() throws SQLException {
        try (Connection victim = connect(primaryPort)) {
            long pid;
            try (var st = victim.createStatement();
                    ResultSet rs = st.executeQuery("select pg_backend_pid()")) {
                rs.next();
                pid = rs.getLong(1);
            }
            // ProcessHandle.destroyForcibly sends SIGKILL.
            ProcessHandle.of(pid)
                    .orElseThrow(() -> new IllegalStateException("no backend process " + pid))
                    .destroyForcibly();
        }
    }

    /** When the primary's postmaster started, as it says. */
    public String postmasterStartTime() throws SQLException {
        return single(primaryPort, "select pg_postmaster_start_time()::text");
    }

    /** Stops the primary ({@code pg_ctl stop -m fast}: its standby receives all it wrote first). */
    public synchronized void stopPrimary() throws IOException {
        if (primary != null) {
            primary.close();
            primary = null;
        }
    }

    /** Promotes the standby with {@code pg_ctl promote} of the embedded binaries, and waits until it is done. */
    public void promoteStandby() throws IOException, InterruptedException {
        Path pgCtl =
                Path.of(postmaster(standbyDir).info().command().orElseThrow()).resolveSibling("pg_ctl");
        List<String> command = new java.util.ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            // pg_ctl refuses to run as root: as zonky does for the server, in a user namespace of its own.
            command.addAll(List.of("unshare", "-U"));
        }
        command.addAll(List.of(pgCtl.toString(), "promote", "-w", "-t", "30", "-D", standbyDir.toString()));
        Process promote = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(promote.getInputStream().readAllBytes());
        if (!promote.waitFor(60, TimeUnit.SECONDS) || promote.exitValue() != 0) {
            throw new IllegalStateException("pg_ctl promote failed: " + output);
        }
    }

    private static ProcessHandle postmaster(Path dataDir) throws IOException {
        long pid = Long.parseLong(
                Files.readAllLines(dataDir.resolve("postmaster.pid")).getFirst().trim());
        return ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException("no postmaster"));
    }

    private static EmbeddedPostgres server(Path dataDir, int port) throws IOException {
        return EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setPort(port)
                // The standby starts from the primary's shutdown checkpoint: keep the WAL since.
                .setServerConfig("wal_keep_size", "256MB")
                .setPGStartupWait(Duration.ofSeconds(60))
                .start();
    }

    private static String single(int port, String sql) throws SQLException {
        try (Connection c = connect(port);
                var st = c.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static Connection connect(int port) throws SQLException {
        return DriverManager.getConnection(
                "jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE + "?connectTimeout=5", "postgres", "postgres");
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path source : files.toList()) {
                Path target = to.resolve(from.relativize(source).toString());
                if (Files.isDirectory(source)) {
                    Files.createDirectories(target);
                } else if (!source.getFileName().toString().equals("epg-lock")) {
                    Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    @Override
    public synchronized void close() throws IOException {
        IOException failure = null;
        for (EmbeddedPostgres server : new EmbeddedPostgres[] {standby, primary}) {
            if (server != null) {
                try {
                    server.close();
                } catch (IOException e) {
                    failure = e;
                }
            }
        }
        standby = null;
        primary = null;
        primaryReserved.close();
        standbyReserved.close();
        for (Path dir : standbyDir == null ? List.of(primaryDir) : List.of(primaryDir, standbyDir)) {
            delete(dir);
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // A temporary directory left behind; nothing depends on it.
        }
    }
}

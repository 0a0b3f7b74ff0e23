package gg.starpets.support;

import gg.starpets.config.DatabaseRoles;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Comparator;

/**
 * A PostgreSQL 17 of a test's own, with a {@code starpets} database and StarPets' three roles
 * (db/roles.sql), that the test can stop and
 * start again on the same port and data: to see what an instance does while its database is down.
 * The port stays reserved while the server is down ({@link ReservedPort}).
 */
public final class StoppablePostgres implements AutoCloseable {

    public static final String DATABASE = "starpets";

    private final Path dataDir;
    private final ReservedPort port;
    private EmbeddedPostgres server;

    private StoppablePostgres(Path dataDir, ReservedPort port) throws IOException {
        this.dataDir = dataDir;
        this.port = port;
        this.server = startServer();
    }

    public static StoppablePostgres start() throws IOException, SQLException {
        StoppablePostgres postgres =
                new StoppablePostgres(Files.createTempDirectory("starpets-stoppable-pg"), ReservedPort.take());
        try (var c = postgres.server.getPostgresDatabase().getConnection();
                var st = c.createStatement()) {
            st.execute("create database " + DATABASE);
        }
        DatabaseRoles.create(postgres.server.getDatabase("postgres", DATABASE), DatabaseRoles.NO_PASSWORDS);
        return postgres;
    }

    public int port() {
        return port.number();
    }

    public synchronized void stop() throws IOException {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    /** Starts it again, same port, same data. */
    public synchronized void restart() throws IOException {
        if (server == null) {
            server = startServer();
        }
    }

    /**
     * A fast restart ({@code pg_ctl stop -m fast}, then start again on the same port and data): every
     * session ends, every advisory lock is dropped, and the server is back a moment later. Returns
     * how long the server was unavailable.
     */
    public synchronized Duration fastRestart() throws IOException {
        long start = System.nanoTime();
        stop();
        restart();
        return Duration.ofNanos(System.nanoTime() - start);
    }

    private EmbeddedPostgres startServer() throws IOException {
        return EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setPort(port.number())
                .setPGStartupWait(Timing.START)
                .start();
    }

    /** Stops it and deletes its data (about 45 MB, left in /tmp by every test otherwise). */
    @Override
    public void close() throws IOException {
        stop();
        port.close();
        try (var paths = Files.walk(dataDir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}

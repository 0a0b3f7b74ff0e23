package gg.starpets.support;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.config.DatabaseRoles;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;
import org.flywaydb.core.Flyway;
import org.springframework.test.context.DynamicPropertyRegistry;

/**
 * One real PostgreSQL 17 for the whole test JVM (embedded, on a {@link ReservedPort}), and a fresh database per
 * test class or test, so tests never see each other's rows.
 */
public final class TestPostgres {

    private static final AtomicInteger DATABASES = new AtomicInteger();
    /** Room a tmpfs must have for the test server's data (a unit test run writes a few GB). */
    private static final long MIN_TMPFS_BYTES = 8L << 30;

    private static EmbeddedPostgres server;

    private TestPostgres() {}

    public static synchronized EmbeddedPostgres server() {
        if (server == null) {
            try {
                Path data = Files.createTempDirectory(dataParent(), "starpets-test-pg-");
                server = EmbeddedPostgres.builder()
                        // Never released: the server lives as long as the JVM.
                        .setPort(ReservedPort.take().number())
                        .setDataDirectory(data)
                        .setCleanDataDirectory(false)
                        .setPGStartupWait(Timing.START)
                        .setServerConfig("max_connections", "500")
                        .setServerConfig("fsync", "off")
                        .setServerConfig("synchronous_commit", "off")
                        .start();
                Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> stopAndRemove(server, data)));
            } catch (IOException e) {
                throw new UncheckedIOException("could not start the embedded PostgreSQL for tests", e);
            }
        }
        return server;
    }

    /**
     * Every test class's database stays on this server until the JVM exits: hundreds of them, some
     * 100,000 files. Deleting those in a shutdown hook took longer than surefire's 30 s exit timeout
     * after every unit test run (it then kills the fork). On a tmpfs with room they cost no disk
     * writes and their removal is instant.
     */
    private static Path dataParent() throws IOException {
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm)
                && Files.isWritable(shm)
                && Files.getFileStore(shm).getUsableSpace() > MIN_TMPFS_BYTES) {
            return shm;
        }
        return Path.of(System.getProperty("java.io.tmpdir"));
    }

    /**
     * Stops the server, then removes its data directory in a process of its own that outlives the
     * JVM (with no stream tied to it, so Maven does not wait for it): on a disk that takes tens of
     * seconds.
     */
    private static void stopAndRemove(EmbeddedPostgres stopped, Path data) {
        try {
            stopped.close();
            new ProcessBuilder("rm", "-rf", data.toString())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            System.err.println("could not remove the test PostgreSQL's data directory " + data + ": " + e);
        }
    }

    public static int port() {
        return server().getPort();
    }

    /**
     * Creates an empty database with StarPets' three roles (db/roles.sql, as every deployment has them)
     * and returns its name. An instance started on it with the default settings migrates as the owner
     * and runs as the service's role; tests themselves look at it as the superuser.
     */
    public static synchronized String createDatabase() {
        String name = createEmptyDatabase();
        DatabaseRoles.create(server().getDatabase("postgres", name), DatabaseRoles.NO_PASSWORDS);
        return name;
    }

    /** Creates an empty database, owned by the superuser, without StarPets' roles set up on it. */
    public static synchronized String createEmptyDatabase() {
        String name = "test_" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet();
        try (Connection c = server().getPostgresDatabase().getConnection();
                var st = c.createStatement()) {
            st.execute("create database " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create database " + name, e);
        }
        return name;
    }

    /**
     * The search_path of the tests' own connections: public first (a table a test creates goes there, where
     * sql tasks find it), then StarPets' schema, so that a test reads StarPets' tables unqualified whether an
     * instance migrated them (into {@code starpets}) or {@link #migrate} did (into public, for the engine's
     * tests, which run without the service's connections).
     */
    public static final String SEARCH_PATH = "public,starpets";

    /**
     * Where the migrations are: the engine's (starpets-scheduler) and, on the service's class path, the
     * service's own (balance, users). A location missing from the class path is skipped.
     */
    public static final String[] MIGRATIONS = {"classpath:db/starpets/migration", "classpath:db/migration"};

    /** {@code url} (no query yet) with the tests' search_path ({@link #SEARCH_PATH}). */
    public static String withTestSearchPath(String url) {
        return url + "?currentSchema=" + SEARCH_PATH;
    }

    public static String jdbcUrl(String database) {
        return withTestSearchPath("jdbc:postgresql://127.0.0.1:" + port() + "/" + database);
    }

    /** A pool on a new, migrated database. Close it when done. */
    public static HikariDataSource migratedDatabase(int poolSize) {
        String name = createDatabase();
        HikariDataSource pool = pool(name, poolSize);
        migrate(pool);
        return pool;
    }

    public static HikariDataSource pool(String database, int poolSize) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl(database));
        config.setUsername("postgres");
        config.setPassword("postgres");
        config.setMaximumPoolSize(poolSize);
        return new HikariDataSource(config);
    }

    /**
     * Migrates {@code database} as the schema's owner (starpets_owner), as an instance would: one started
     * on it afterwards finds nothing to migrate and grants its own role the tables (afterMigrate).
     */
    public static void migrateAsOwner(String database) {
        Flyway.configure()
                .dataSource(jdbcUrl(database), "starpets_owner", "")
                .locations(MIGRATIONS)
                .load()
                .migrate();
    }

    public static void migrate(javax.sql.DataSource dataSource) {
        Flyway.configure().dataSource(dataSource).locations(MIGRATIONS).load().migrate();
    }

    /** Points a Spring Boot test at a new database of the test server. */
    public static void register(DynamicPropertyRegistry registry) {
        String database = createDatabase();
        registry.add("starpets.db.host", () -> "127.0.0.1");
        registry.add("starpets.db.port", TestPostgres::port);
        registry.add("starpets.db.name", () -> database);
    }
}

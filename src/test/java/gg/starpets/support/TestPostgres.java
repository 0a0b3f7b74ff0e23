package gg.starpets.support;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.config.DatabaseRoles;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;
import org.flywaydb.core.Flyway;
import org.springframework.test.context.DynamicPropertyRegistry;

/**
 * One real PostgreSQL 17 for the whole test JVM (embedded, random port), and a fresh database per
 * test class or test, so tests never see each other's rows.
 */
public final class TestPostgres {

    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static EmbeddedPostgres server;

    private TestPostgres() {}

    public static synchronized EmbeddedPostgres server() {
        if (server == null) {
            try {
                server = EmbeddedPostgres.builder()
                        .setServerConfig("max_connections", "500")
                        .setServerConfig("fsync", "off")
                        .setServerConfig("synchronous_commit", "off")
                        .start();
            } catch (IOException e) {
                throw new UncheckedIOException("could not start the embedded PostgreSQL for tests", e);
            }
        }
        return server;
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

    public static String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port() + "/" + database;
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
                .locations("classpath:db/migration")
                .load()
                .migrate();
    }

    public static void migrate(javax.sql.DataSource dataSource) {
        Flyway.configure()
                .dataSource(dataSource)
                .locations("classpath:db/migration")
                .load()
                .migrate();
    }

    /** Points a Spring Boot test at a new database of the test server. */
    public static void register(DynamicPropertyRegistry registry) {
        String database = createDatabase();
        registry.add("starpets.db.host", () -> "127.0.0.1");
        registry.add("starpets.db.port", TestPostgres::port);
        registry.add("starpets.db.name", () -> database);
    }
}

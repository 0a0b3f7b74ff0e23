package gg.starpets.config;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL 17 started inside the service for development: data is kept in a directory,
 * so a restart keeps it, and the service connects to it as the same three roles as to any other
 * ({@link DatabaseRoles}), never as its superuser. Only loaded when the class path has the embedded
 * server (not in the image).
 */
public final class EmbeddedPostgresServer {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgresServer.class);

    private EmbeddedPostgresServer() {}

    public static DatabaseEndpoint start(StarPetsProperties.Db db) {
        Path dataDir = db.embeddedDir().toAbsolutePath().normalize();
        try {
            Files.createDirectories(dataDir);
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDir)
                    .setCleanDataDirectory(false)
                    // Stopped by the application after everything that uses it, not by a JVM hook racing it.
                    .setRegisterShutdownHook(false)
                    .setPort(db.embeddedPort())
                    .setServerConfig("max_connections", "300")
                    // The embedded server keeps users' data: durable, unlike zonky's test defaults
                    // (fsync, synchronous_commit and full_page_writes off), which a machine crash corrupts.
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("full_page_writes", "on")
                    .start();
            createDatabaseIfMissing(postgres, db.name());
            DatabaseRoles.create(postgres.getDatabase("postgres", db.name()), DatabaseRoles.NO_PASSWORDS);
            log.info(
                    "Database: embedded PostgreSQL 17 on 127.0.0.1:{}/{}, data in {} (set DB_HOST to use another)",
                    postgres.getPort(),
                    db.name(),
                    dataDir);
            // The three roles of every deployment, without passwords: the embedded server listens on
            // 127.0.0.1 only and trusts local connections, as zonky's initdb sets it up.
            return new DatabaseEndpoint(
                    db.jdbcUrl("127.0.0.1", postgres.getPort()),
                    DatabaseRoles.SERVICE,
                    DatabaseRoles.OWNER,
                    DatabaseRoles.SQL_TASKS,
                    postgres,
                    db.schema());
        } catch (IOException e) {
            throw new UncheckedIOException("Could not start the embedded PostgreSQL in " + dataDir, e);
        }
    }

    private static void createDatabaseIfMissing(EmbeddedPostgres postgres, String name) {
        try (Connection c = postgres.getPostgresDatabase().getConnection();
                var exists = c.prepareStatement("select 1 from pg_database where datname = ?")) {
            exists.setString(1, name);
            try (ResultSet rs = exists.executeQuery()) {
                if (!rs.next()) {
                    try (var create = c.createStatement()) {
                        // A database name cannot be a bind parameter; quote it as an identifier.
                        create.execute("create database \"" + name.replace("\"", "\"\"") + "\"");
                    }
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Could not create database " + name + " in the embedded PostgreSQL", e);
        }
    }
}

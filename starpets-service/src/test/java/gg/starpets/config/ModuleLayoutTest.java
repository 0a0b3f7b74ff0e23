package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.AppInstance;
import gg.starpets.support.RunsAlongside;
import gg.starpets.support.TestPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The migrations moved into two modules (starpets-scheduler's db/starpets/migration, the service's
 * db/migration for balance and users) byte for byte: a database migrated as the single-module layout did
 * (every migration in one location, the grants in another, one history in schema starpets, as the owner) is
 * accepted by this service as it is, with nothing migrated again.
 */
@RunsAlongside
class ModuleLayoutTest {

    @TempDir
    Path dir;

    @Test
    void aDatabaseMigratedByTheSingleModuleLayoutIsAcceptedUnchanged() throws IOException, SQLException {
        Path migration = Files.createDirectories(dir.resolve("db/migration"));
        Path callback = Files.createDirectories(dir.resolve("db/callback"));
        for (String source : List.of(
                "starpets-scheduler/src/main/resources/db/starpets/migration",
                "starpets-service/src/main/resources/db/migration")) {
            try (var files = Files.list(Path.of(source))) {
                for (Path f : files.toList()) {
                    Files.copy(f, migration.resolve(f.getFileName()));
                }
            }
        }
        Files.copy(
                Path.of("starpets-scheduler/src/main/resources/db/starpets/callback/afterMigrate.sql"),
                callback.resolve("afterMigrate.sql"));

        String database = TestPostgres.createDatabase();
        Flyway.configure()
                .dataSource(TestPostgres.jdbcUrl(database), "starpets_owner", "")
                .schemas("starpets")
                .defaultSchema("starpets")
                .createSchemas(true)
                .placeholders(Map.of("runtimeRole", "starpets_app", "sqlRole", "starpets_sql"))
                .locations("filesystem:" + migration, "filesystem:" + callback)
                .load()
                .migrate();
        try (HikariDataSource admin = TestPostgres.pool(database, 1)) {
            List<String> before = history(admin);
            assertThat(before).anyMatch(row -> row.startsWith("2|V2__users.sql|"));

            try (AppInstance app = AppInstance.start(database, "instance-modules", Map.of())) {
                assertThat(app.get("/health").statusCode()).isEqualTo(200);
            }
            assertThat(history(admin)).isEqualTo(before);
        }
    }

    /** version|script|checksum of every applied migration, in order. */
    private static List<String> history(HikariDataSource db) throws SQLException {
        List<String> rows = new ArrayList<>();
        try (Connection c = db.getConnection();
                var rs = c.createStatement()
                        .executeQuery("select version, script, checksum from starpets.flyway_schema_history"
                                + " where success order by installed_rank")) {
            while (rs.next()) {
                rows.add(rs.getString(1) + "|" + rs.getString(2) + "|" + rs.getString(3));
            }
        }
        return rows;
    }
}

package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.TestPostgres;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

class MigrationsTest {

    @Test
    void migrationsApplyOnAnEmptyDatabaseAndAreANoOpTheSecondTime() throws Exception {
        try (HikariDataSource db = TestPostgres.pool(TestPostgres.createDatabase(), 2)) {
            Flyway flyway = Flyway.configure()
                    .dataSource(db)
                    .locations(TestPostgres.MIGRATIONS)
                    .load();

            assertThat(flyway.migrate().migrationsExecuted).isGreaterThanOrEqualTo(1);
            assertThat(flyway.migrate().migrationsExecuted).isZero();
            assertThat(flyway.validateWithResult().validationSuccessful).isTrue();
            try (var c = db.getConnection();
                    var rs = c.createStatement()
                            .executeQuery("select count(*) from information_schema.tables where table_schema = 'public'"
                                    + " and table_name in ('tasks', 'task_runs', 'instances')")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(3);
            }
        }
    }
}

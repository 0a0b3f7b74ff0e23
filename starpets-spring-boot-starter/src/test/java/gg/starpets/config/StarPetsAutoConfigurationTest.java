package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.scheduler.StarPets;
import gg.starpets.scheduler.TaskHandler;
import gg.starpets.scheduler.TaskRules;
import gg.starpets.support.RunsAlongside;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;

/**
 * The starter in an application of its own, as a library user has it: the application's database and
 * DataSource (spring.datasource.*), its own table in public, one TaskHandler bean and one task in its
 * settings. StarPets migrates only its own schema, leaves the application's DataSource the injected one,
 * runs the application's handler, and backs off where the application declares a bean of its own.
 */
@RunsAlongside
class StarPetsAutoConfigurationTest {

    static final AtomicInteger RUNS = new AtomicInteger();

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class LibraryApp {

        @Bean("count-up")
        TaskHandler countUp() {
            return context -> RUNS.incrementAndGet();
        }
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class AppWithOwnRules {

        static final TaskRules RULES = new TaskRules() {};

        @Bean
        TaskRules myRules() {
            return RULES;
        }
    }

    @Test
    void aLibraryInstallHasOnlyTheSchedulersTablesInItsSchemaAndRunsTheApplicationsHandler() throws SQLException {
        String database = TestPostgres.createEmptyDatabase();
        try (HikariDataSource admin = TestPostgres.pool(database, 1)) {
            try (Connection c = admin.getConnection();
                    var st = c.createStatement()) {
                st.execute("create table public.orders (id int primary key, item text)");
                st.execute("insert into public.orders values (1, 'kibble')");
            }
            try (ConfigurableApplicationContext app = start(LibraryApp.class, database)) {
                // The application's handler, under its bean name, runs the application's task.
                await().atMost(Timing.START).until(() -> RUNS.get() >= 1);

                // The application's DataSource is the one injected by type, not one of StarPets' pools.
                DataSource injected = app.getBean(DataSource.class);
                assertThat(injected)
                        .isNotSameAs(app.getBean(StarPetsAutoConfiguration.DATA_SOURCE))
                        .isNotSameAs(app.getBean(StarPetsAutoConfiguration.SCHEDULER_DATA_SOURCE));
                assertThat(app.getBean(StarPets.class)
                                .findTask("count")
                                .orElseThrow()
                                .name())
                        .isEqualTo("count");
                HealthIndicator health = app.getBean("starpetsHealthIndicator", HealthIndicator.class);
                assertThat(health.health().getStatus()).isEqualTo(Status.UP);
            }
            assertThat(tables(admin, "starpets"))
                    .contains("tasks", "task_runs", "instances", "task_events", "flyway_schema_history")
                    .doesNotContain("users", "balance_changes", "balance_idempotency_keys");
            // The application's own schema: its table and row, nothing of StarPets'.
            assertThat(tables(admin, "public")).containsExactly("orders");
            try (Connection c = admin.getConnection();
                    var rs = c.createStatement().executeQuery("select item from public.orders where id = 1")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("kibble");
            }
        }
    }

    @Test
    void theHealthContributorSaysDownAndWhyOnceTheSchedulerStandsDown() throws SQLException {
        String database = TestPostgres.createEmptyDatabase();
        try (ConfigurableApplicationContext app = start(LibraryApp.class, database);
                HikariDataSource admin = TestPostgres.pool(database, 1)) {
            HealthIndicator health = app.getBean("starpetsHealthIndicator", HealthIndicator.class);
            assertThat(health.health().getStatus()).isEqualTo(Status.UP);

            // Another process takes this instance's id: its scheduler stands down.
            try (Connection c = admin.getConnection();
                    var st = c.prepareStatement(
                            "update starpets.instances set session_key = session_key + 1 where id = ?")) {
                st.setString(1, "library-" + database);
                assertThat(st.executeUpdate()).isEqualTo(1);
            }

            await().atMost(Timing.SOON).until(() -> health.health().getStatus().equals(Status.DOWN));
            assertThat(health.health().getDetails().get("reason"))
                    .asString()
                    .contains("another process has taken instance id library-" + database);
        }
    }

    @Test
    void anApplicationsOwnBeanReplacesStarPets() {
        String database = TestPostgres.createEmptyDatabase();
        try (ConfigurableApplicationContext app = start(AppWithOwnRules.class, database)) {
            assertThat(app.getBean(TaskRules.class)).isSameAs(AppWithOwnRules.RULES);
        }
    }

    private static ConfigurableApplicationContext start(Class<?> application, String database) {
        SpringApplicationBuilder app = new SpringApplicationBuilder(application)
                .web(WebApplicationType.NONE)
                .properties(
                        "spring.datasource.url=" + TestPostgres.jdbcUrl(database),
                        "spring.datasource.username=postgres",
                        "spring.datasource.password=postgres",
                        "starpets.instance-id=library-" + database,
                        "starpets.scheduler.settle=0s");
        if (application == LibraryApp.class) {
            app.properties(
                    "starpets.tasks[0].name=count",
                    "starpets.tasks[0].handler=count-up",
                    "starpets.tasks[0].schedule=1s",
                    "starpets.tasks[0].timeout=10s");
        }
        return app.run();
    }

    private static List<String> tables(DataSource db, String schema) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Connection c = db.getConnection();
                var st = c.prepareStatement(
                        "select table_name from information_schema.tables where table_schema = ? order by 1")) {
            st.setString(1, schema);
            try (var rs = st.executeQuery()) {
                while (rs.next()) {
                    names.add(rs.getString(1));
                }
            }
        }
        return names;
    }
}

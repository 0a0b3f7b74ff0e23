package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.AppInstance;
import gg.starpets.support.ReservedPort;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Least privilege on a real PostgreSQL: the migrations ran as the schema's owner, the service runs as a
 * role that may read and write rows and nothing else, sql tasks as a role with no right on StarPets'
 * tables, which the service may still signal (to end a lost run's statement).
 */
class DatabaseRolesTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static String database;
    private static AppInstance app;
    private static HikariDataSource admin;

    @BeforeAll
    static void start() {
        database = TestPostgres.createDatabase();
        Map<String, Object> props = new HashMap<>();
        props.putAll(AppInstance.task(0, "count-tasks", "sql", "1h", "1m", null));
        // StarPets' tables are in their schema, which sql tasks may look into (for the fenced commit's function).
        props.put("starpets.tasks[0].params.statement", "select count(*) from starpets.tasks");
        props.putAll(AppInstance.task(1, "say-who", "sql", "1h", "1m", null));
        props.put("starpets.tasks[1].params.statement", "select current_user");
        // A table of the user's own, in public: sql tasks address it unqualified, as before StarPets had a schema.
        props.putAll(AppInstance.task(2, "count-orders", "sql", "1h", "1m", null));
        props.put("starpets.tasks[2].params.statement", "insert into orders select count(*) from orders");
        admin = TestPostgres.pool(database, 2);
        try (Connection c = admin.getConnection();
                Statement st = c.createStatement()) {
            st.execute("create table orders (n bigint); grant select, insert on orders to starpets_sql");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        app = AppInstance.start(database, "instance-roles", props);
    }

    @AfterAll
    static void stop() {
        app.close();
        admin.close();
    }

    @Test
    void theMigrationsRanAsTheOwnerAndTheServiceRunsAsItsOwnRoleWhichIsNoSuperuser() throws SQLException {
        assertThat(strings("select distinct tableowner from pg_tables where schemaname = 'starpets'"))
                .containsExactly("starpets_owner");
        assertThat(strings("select pg_get_userbyid(nspowner) from pg_namespace where nspname = 'starpets'"))
                .containsExactly("starpets_owner");
        // The service's pool, the scheduler's, the instance's two sessions: all as the service's role;
        // only the sql tasks' pool as theirs.
        assertThat(strings(
                        "select distinct regexp_replace(application_name, '-instance-roles$', '') || ' as ' || usename"
                                + " from pg_stat_activity where datname = current_database()"
                                + " and application_name like 'starpets-%instance-roles' order by 1"))
                .contains(
                        "starpets as starpets_app",
                        "starpets-scheduler as starpets_app",
                        "starpets-session as starpets_app",
                        "starpets-watch as starpets_app")
                .allMatch(s -> s.endsWith("as starpets_app") || s.equals("starpets-sql-tasks as starpets_sql"));
        assertThat(strings("select rolname from pg_roles where rolname like 'starpets\\_%'"
                        + " and (rolsuper or rolcreaterole or rolcreatedb or rolbypassrls or rolreplication)"))
                .isEmpty();
        // And it works as that role: a balance change, a task created over the API.
        assertThat(app.send(TestTokens.bearer(
                                        HttpRequest.newBuilder(URI.create(app.url("/balance/update"))),
                                        TestTokens.BALANCE)
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString("{\"userId\":1,\"amount\":-2}")))
                        .statusCode())
                .isEqualTo(200);
    }

    @Test
    void theServicesRoleMayReadAndWriteRowsOfItsTablesAndNothingElse() throws SQLException {
        List<String> tables = strings("select tablename from pg_tables where schemaname = 'starpets'"
                + " and tablename <> 'flyway_schema_history' order by 1");
        assertThat(tables).contains("tasks", "task_runs", "users", "balance_changes", "balance_idempotency_keys");
        for (String table : tables) {
            for (String right : List.of("select", "insert", "update", "delete")) {
                assertThat(privilege("starpets_app", table, right))
                        .as(right + " on " + table)
                        .isTrue();
            }
            for (String right : List.of("truncate", "references", "trigger")) {
                assertThat(privilege("starpets_app", table, right))
                        .as(right + " on " + table)
                        .isFalse();
            }
        }
        for (String right : List.of("select", "insert", "update", "delete")) {
            assertThat(privilege("starpets_app", "flyway_schema_history", right))
                    .isFalse();
        }
        try (Connection c = as("starpets_app");
                Statement st = c.createStatement()) {
            assertThatThrownBy(() -> st.execute("create table intruder (id int)"))
                    .hasMessageContaining("permission");
            assertThatThrownBy(() -> st.execute("drop table tasks")).hasMessageContaining("must be owner");
            assertThatThrownBy(() -> st.execute("alter table users drop constraint users_balance_not_negative"))
                    .hasMessageContaining("must be owner");
            assertThatThrownBy(() -> st.execute("create role intruder")).hasMessageContaining("permission");
        }
    }

    @Test
    void sqlTasksRunAsTheirOwnRoleWhichMayNotTouchStarPetsTables() throws SQLException {
        for (String table : strings("select tablename from pg_tables where schemaname = 'starpets' order by 1")) {
            for (String right : List.of("select", "insert", "update", "delete", "truncate")) {
                assertThat(privilege("starpets_sql", table, right))
                        .as(right + " on " + table)
                        .isFalse();
            }
        }
        JsonNode refused = lastRun("count-tasks");
        assertThat(refused.get("status").asString()).isEqualTo("FAILED");
        assertThat(refused.get("error").asString()).contains("permission denied for table tasks");
        JsonNode who = lastRun("say-who");
        assertThat(who.get("status").asString()).isEqualTo("SUCCEEDED");
        assertThat(lastRun("count-orders").get("status").asString()).isEqualTo("SUCCEEDED");
        assertThat(strings("select n from public.orders")).containsExactly("0");
    }

    @Test
    void aTableTheOwnerAddsToTheSchemaLaterIsTheServicesToReadAndWriteAndNotTheSqlTasks() throws SQLException {
        try (Connection owner = as("starpets_owner");
                Statement st = owner.createStatement()) {
            // As a later migration would, without the grants that follow every migration (default privileges).
            st.execute("create table starpets.added_later (id bigint generated always as identity, v text)");
        }
        for (String right : List.of("select", "insert", "update", "delete")) {
            assertThat(privilege("starpets_app", "added_later", right))
                    .as(right)
                    .isTrue();
            assertThat(privilege("starpets_sql", "added_later", right))
                    .as(right)
                    .isFalse();
        }
        try (Connection service = as("starpets_app");
                Statement st = service.createStatement()) {
            st.execute("insert into starpets.added_later (v) values ('x')");
        }
    }

    @Test
    void theServicesRoleMayEndSqlTasksSessionsButNoOtherRolesOnes() throws SQLException {
        try (Connection sqlTask = as("starpets_sql");
                Connection owner = as("starpets_owner");
                Connection service = as("starpets_app")) {
            int sqlPid = pid(sqlTask);
            int ownerPid = pid(owner);
            try (Statement st = service.createStatement()) {
                assertThatThrownBy(() -> st.execute("select pg_terminate_backend(" + ownerPid + ")"))
                        .hasMessageContaining("permission denied");
                assertThatThrownBy(() -> st.execute("set role starpets_sql")).hasMessageContaining("permission");
                try (var rs = st.executeQuery("select pg_terminate_backend(" + sqlPid + ")")) {
                    assertThat(rs.next() && rs.getBoolean(1)).isTrue();
                }
            }
            assertThat(owner.isValid(2)).isTrue();
            await().atMost(Duration.ofSeconds(10)).until(() -> !sqlTask.isValid(1));
        }
    }

    @Test
    void theEmbeddedServerHasTheSameRolesAndTheServiceConnectsAsItsOwn() throws Exception {
        try (ReservedPort port = ReservedPort.take();
                DatabaseEndpoint endpoint = EmbeddedPostgresServer.start(
                        StarPetsProperties.Db.embedded(Files.createTempDirectory("starpets-roles"), port.number()));
                Connection c = DriverManager.getConnection(endpoint.jdbcUrl(), endpoint.user(), endpoint.password());
                Statement st = c.createStatement();
                var rs = st.executeQuery(
                        "select current_user, (select rolsuper from pg_roles where rolname = current_user),"
                                + " (select pg_get_userbyid(datdba) from pg_database where datname = current_database())")) {
            // Whatever DB_USER says: the embedded server's own roles.
            assertThat(List.of(
                            endpoint.user(),
                            endpoint.owner().user(),
                            endpoint.sqlTasks().user()))
                    .containsExactly("starpets_app", "starpets_owner", "starpets_sql");
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("starpets_app");
            assertThat(rs.getBoolean(2)).isFalse();
            assertThat(rs.getString(3)).isEqualTo("starpets_owner");
        }
    }

    private static JsonNode lastRun(String task) {
        JsonNode[] run = new JsonNode[1];
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            JsonNode runs = JSON.readTree(
                            app.get("/tasks/" + task + "/runs?limit=1").body())
                    .get("runs");
            assertThat(runs).isNotEmpty();
            assertThat(runs.get(0).get("status").asString()).isNotEqualTo("RUNNING");
            run[0] = runs.get(0);
        });
        return run[0];
    }

    private static Connection as(String role) throws SQLException {
        return DriverManager.getConnection(TestPostgres.jdbcUrl(database), role, "");
    }

    private static int pid(Connection c) throws SQLException {
        try (var rs = c.createStatement().executeQuery("select pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static boolean privilege(String role, String table, String right) throws SQLException {
        try (var c = admin.getConnection();
                var st = c.prepareStatement("select has_table_privilege(?, 'starpets.' || ?, ?)")) {
            st.setString(1, role);
            st.setString(2, table);
            st.setString(3, right);
            try (var rs = st.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private static List<String> strings(String sql) throws SQLException {
        try (var c = admin.getConnection();
                var rs = c.createStatement().executeQuery(sql)) {
            List<String> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
            return rows;
        }
    }
}

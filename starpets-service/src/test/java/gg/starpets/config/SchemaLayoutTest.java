package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

/**
 * StarPets' tables in a schema of their own (starpets.db.schema) on a real PostgreSQL: beside other tables,
 * which it never touches; under another name; a bad name refused; and the upgrade of a database laid out as
 * before (StarPets' tables and history in public), its data kept and its tasks running on.
 */
class SchemaLayoutTest {

    /** The last migration of the layout before the schema: what the upgrade starts from. */
    private static final String LAST_VERSION_IN_PUBLIC = "21";

    private static final Duration RUNS = Duration.ofSeconds(60);

    @Test
    void aDatabaseWithOtherTablesInPublicGetsStarPetsInItsOwnSchemaAndTheOthersAreUntouched() throws Exception {
        // A database whose public schema already has a table of someone else's, made by the superuser
        // before StarPets' roles exist, so that db/roles.sql meets it too.
        String database = TestPostgres.createEmptyDatabase();
        try (HikariDataSource admin = TestPostgres.pool(database, 2)) {
            addOrders(admin);
            String before = ordersAsTheyAre(admin);
            assertThat(before).startsWith("[public postgres -, public postgres -");
            DatabaseRoles.create(TestPostgres.server().getDatabase("postgres", database), DatabaseRoles.NO_PASSWORDS);
            try (AppInstance app = AppInstance.start(database, "instance-beside", fencedTask())) {
                awaitRuns(admin, "starpets", 2);
            }
            assertThat(strings(admin, "select tablename from pg_tables where schemaname = 'public'"))
                    .containsExactly("orders");
            assertThat(ordersAsTheyAre(admin)).isEqualTo(before);
            assertThat(strings(admin, "select tablename from pg_tables where schemaname = 'starpets'"))
                    .contains("flyway_schema_history", "tasks", "task_runs", "instances");
        }
    }

    @Test
    void anotherSchemaNameHoldsEverythingOfStarPets() throws Exception {
        String database = TestPostgres.createDatabase();
        Map<String, Object> props = fencedTask();
        props.put("starpets.db.schema", "jobs_2");
        try (HikariDataSource admin = TestPostgres.pool(database, 2);
                AppInstance app = AppInstance.start(database, "instance-named", props)) {
            awaitRuns(admin, "jobs_2", 2);
            assertThat(strings(admin, "select tablename from pg_tables where schemaname = 'jobs_2'"))
                    .contains("flyway_schema_history", "tasks", "task_runs");
            assertThat(strings(admin, "select nspname from pg_namespace where nspname in ('public', 'starpets')"))
                    .containsExactly("public");
            assertThat(strings(admin, "select tablename from pg_tables where schemaname = 'public'"))
                    .isEmpty();
        }
    }

    @Test
    void aSchemaNameThatIsNoPlainIdentifierStopsTheStartNamingTheSetting() throws Exception {
        String database = TestPostgres.createDatabase();
        for (String bad : List.of("Star-Pets", "pg_jobs", "1jobs", "jobs; drop table orders")) {
            Map<String, Object> props = fencedTask();
            props.put("starpets.db.schema", bad);
            assertThatThrownBy(() -> AppInstance.start(database, "instance-bad", props))
                    .as(bad)
                    .hasStackTraceContaining("starpets.db.schema (DB_SCHEMA) must be a plain PostgreSQL identifier");
        }
        try (HikariDataSource admin = TestPostgres.pool(database, 2)) {
            assertThat(strings(
                            admin,
                            "select tablename from pg_tables where schemaname not in"
                                    + " ('pg_catalog', 'information_schema')"))
                    .isEmpty();
        }
    }

    @Test
    void aDatabaseOfTheLayoutBeforeMovesToTheSchemaKeepsItsDataAndRunsItsTasks() throws Exception {
        String database = TestPostgres.createDatabase();
        try (HikariDataSource admin = TestPostgres.pool(database, 2)) {
            // The layout before: the migrations up to the last one released with the tables in public, and a
            // task with two runs in it (this build's code needs later columns, so it cannot write them itself).
            DatabaseRoles.create(TestPostgres.server().getDatabase("postgres", database), DatabaseRoles.NO_PASSWORDS);
            Flyway.configure()
                    // As that layout's instances migrated: as the schema's owner.
                    .dataSource(TestPostgres.jdbcUrl(database), "starpets_owner", "")
                    .schemas("public")
                    .locations(TestPostgres.MIGRATIONS)
                    .target(LAST_VERSION_IN_PUBLIC)
                    .load()
                    .migrate();
            try (var c = admin.getConnection();
                    var st = c.createStatement()) {
                st.execute("insert into public.tasks (name, handler, schedule, timeout_seconds, next_run_at)"
                        + " values ('fenced-insert', 'sql', '1s', 30, now())");
                st.execute("insert into public.task_runs (task_id, task_name, instance_id, fence, scheduled_for,"
                        + " status, finished_at) select id, name, 'instance-before', n, now(), 'SUCCEEDED', now()"
                        + " from public.tasks, generate_series(1, 2) n");
            }
            assertThat(strings(admin, "select max(version::int) from public.flyway_schema_history"))
                    .containsExactly(LAST_VERSION_IN_PUBLIC);
            List<String> tables = strings(
                    admin,
                    "select tablename from pg_tables where schemaname = 'public'"
                            + " and tablename <> 'orders' order by 1");
            assertThat(tables).containsAll(LegacyLayout.TABLES).contains("flyway_schema_history");
            String runsBefore = runsOf(admin, "public");
            // Then someone else's table in public (that layout refused to start on one it had not made), and
            // the roles script again, as a deployment runs it before every upgrade.
            addOrders(admin);
            String orders = ordersAsTheyAre(admin);
            DatabaseRoles.create(TestPostgres.server().getDatabase("postgres", database), DatabaseRoles.NO_PASSWORDS);
            long lastRunBefore = Long.parseLong(
                    strings(admin, "select max(id) from public.task_runs").get(0));

            try (AppInstance app = AppInstance.start(database, "instance-after", fencedTask())) {
                // Its runs go on after the move: new ids from the moved sequence, committed under the fence
                // through the moved function.
                await().atMost(RUNS)
                        .pollInterval(Duration.ofMillis(200))
                        .untilAsserted(() -> assertThat(Integer.parseInt(strings(
                                                admin,
                                                "select count(*) from starpets.task_runs where status = 'SUCCEEDED'"
                                                        + " and id > " + lastRunBefore)
                                        .get(0)))
                                .isGreaterThanOrEqualTo(2));
            }
            assertThat(strings(admin, "select tablename from pg_tables where schemaname = 'public'"))
                    .containsExactly("orders");
            assertThat(ordersAsTheyAre(admin)).isEqualTo(orders);
            assertThat(strings(admin, "select tablename from pg_tables where schemaname = 'starpets' order by 1"))
                    .containsAll(tables);
            assertThat(strings(
                            admin,
                            "select string_agg(id::text, ',' order by id) from starpets.task_runs where id <= "
                                    + lastRunBefore))
                    .containsExactly(runsBefore);
            // One history, every migration in it, from V1 on, all successful.
            assertThat(strings(
                            admin,
                            "select count(*) filter (where not success) || ' ' || min(version::int)"
                                    + " from starpets.flyway_schema_history where version is not null"))
                    .containsExactly("0 1");
            assertThat(
                            strings(
                                    admin,
                                    "select n.nspname || ' ' || array_to_string(p.proconfig, ';') from pg_proc p"
                                            + " join pg_namespace n on n.oid = p.pronamespace where p.proname = 'starpets_lock_fence'"))
                    .containsExactly("starpets search_path=starpets, pg_catalog, pg_temp");
        }
    }

    @Test
    void theRolesScriptReownsExactlyTheTablesOfTheLayoutBefore() throws Exception {
        String script;
        try (var in = SchemaLayoutTest.class.getResourceAsStream("/db/roles.sql")) {
            script = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        var list =
                java.util.regex.Pattern.compile("c\\.relname in \\(([^)]*)\\)").matcher(script);
        assertThat(list.find()).isTrue();
        List<String> named = java.util.Arrays.stream(list.group(1).split(","))
                .map(name -> name.strip().replace("'", ""))
                .toList();
        List<String> expected = new ArrayList<>(LegacyLayout.TABLES);
        expected.add("flyway_schema_history");
        assertThat(named).containsExactlyInAnyOrderElementsOf(expected);
    }

    /** One sql task, every second: its commit takes the fenced commit's lock (the function), as the sql role. */
    private static Map<String, Object> fencedTask() {
        Map<String, Object> props = new HashMap<>(AppInstance.task(0, "fenced-insert", "sql", "1s", "30s", null));
        props.put("starpets.tasks[0].params.statement", "select 1");
        return props;
    }

    /** Someone else's table, with an index, a sequence and rows, made by the superuser. */
    private static void addOrders(HikariDataSource admin) throws SQLException {
        try (Connection c = admin.getConnection();
                Statement st = c.createStatement()) {
            st.execute("create table public.orders"
                    + " (id bigint generated always as identity primary key, item text not null)");
            st.execute("create index orders_item_idx on public.orders (item)");
            st.execute("insert into public.orders (item) values ('saddle'), ('lasso')");
        }
    }

    /** Where the table is, whose it is, who may do what with it, its indexes and rows. */
    private static String ordersAsTheyAre(HikariDataSource admin) throws SQLException {
        return String.join(
                "|",
                strings(
                                admin,
                                "select n.nspname || ' ' || pg_get_userbyid(c.relowner) || ' ' || coalesce(c.relacl::text, '-')"
                                        + " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                                        + " where c.relname in ('orders', 'orders_item_idx', 'orders_id_seq', 'orders_pkey')"
                                        + " order by c.relname")
                        .toString(),
                strings(admin, "select id || ' ' || item from public.orders order by id")
                        .toString());
    }

    private static void awaitRuns(HikariDataSource admin, String schema, int succeeded) {
        await().atMost(RUNS)
                .pollInterval(Duration.ofMillis(200))
                .untilAsserted(() -> assertThat(Integer.parseInt(strings(
                                        admin,
                                        "select count(*) from " + schema + ".task_runs where status = 'SUCCEEDED'")
                                .get(0)))
                        .isGreaterThanOrEqualTo(succeeded));
    }

    private static String runsOf(HikariDataSource admin, String schema) throws SQLException {
        return strings(admin, "select string_agg(id::text, ',' order by id) from " + schema + ".task_runs")
                .get(0);
    }

    private static List<String> strings(HikariDataSource admin, String sql) throws SQLException {
        try (Connection c = admin.getConnection();
                var rs = c.createStatement().executeQuery(sql)) {
            List<String> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
            return rows;
        }
    }
}

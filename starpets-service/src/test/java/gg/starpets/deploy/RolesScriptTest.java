package gg.starpets.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.support.TestPostgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The roles script of the compose stack and the Helm chart (deploy/postgres/initdb/10-roles.sh, which
 * runs db/roles.sql) as they run it: with psql, as a superuser, on PostgreSQL 17. Needs psql (Debian's
 * postgresql-client), so it runs in CI's deploy step (.ci/checks.d/30-deploy), not in the default run.
 */
@Tag("e2e")
class RolesScriptTest {

    private static final String SCRIPT = "deploy/postgres/initdb/10-roles.sh";

    @Test
    void itMakesTheThreeRolesWithTheirPasswordsTwiceOverAndPrintsNoPassword() throws Exception {
        String database = TestPostgres.createEmptyDatabase();
        Map<String, String> env = Map.of(
                "STARPETS_DB_OWNER_ROLE", "rs_owner",
                "STARPETS_DB_APP_ROLE", "rs_app",
                "STARPETS_DB_SQL_ROLE", "rs_sql",
                "STARPETS_DB_OWNER_PASSWORD", "owner-pw-0123456789",
                "STARPETS_DB_APP_PASSWORD", "app-pw-0123456789",
                "STARPETS_DB_SQL_PASSWORD", "sql-pw-0123456789");
        for (int run = 0; run < 2; run++) {
            String output = run(database, env);
            assertThat(output).doesNotContain("pw-0123456789");
        }
        try (var admin = TestPostgres.pool(database, 1);
                Connection c = admin.getConnection()) {
            assertThat(
                            strings(
                                    c,
                                    "select rolname || ':' || rolcanlogin || ':' || rolsuper || ':' ||"
                                            + " (rolpassword like 'SCRAM-SHA-256$%') from pg_authid where rolname like 'rs\\_%' order by 1"))
                    .containsExactly("rs_app:true:false:true", "rs_owner:true:false:true", "rs_sql:true:false:true");
            assertThat(strings(c, "select pg_get_userbyid(datdba) from pg_database where datname = current_database()"))
                    .containsExactly("rs_owner");
            assertThat(strings(
                            c,
                            "select pg_has_role('rs_app', 'rs_sql', 'usage')::text"
                                    + " || pg_has_role('rs_app', 'rs_sql', 'set')::text"))
                    .containsExactly("truefalse");
            assertThat(strings(c, "select has_database_privilege('public', current_database(), 'connect')::text"))
                    .containsExactly("false");
        }
        // A password not given is left as it is.
        run(
                database,
                Map.of(
                        "STARPETS_DB_OWNER_ROLE",
                        "rs_owner",
                        "STARPETS_DB_APP_ROLE",
                        "rs_app",
                        "STARPETS_DB_SQL_ROLE",
                        "rs_sql"));
        try (var admin = TestPostgres.pool(database, 1);
                Connection c = admin.getConnection()) {
            assertThat(strings(c, "select count(*) from pg_authid where rolname like 'rs\\_%' and rolpassword is null"))
                    .containsExactly("0");
        }
    }

    private static String run(String database, Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("sh", SCRIPT).redirectErrorStream(true);
        pb.environment().putAll(env);
        pb.environment().put("PGHOST", "127.0.0.1");
        pb.environment().put("PGPORT", String.valueOf(TestPostgres.port()));
        pb.environment().put("PGUSER", "postgres");
        pb.environment().put("PGDATABASE", database);
        pb.environment().put("STARPETS_ROLES_SQL", "starpets-scheduler/src/main/resources/db/roles.sql");
        Process p = pb.start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(output).isZero();
        return output;
    }

    private static List<String> strings(Connection c, String sql) throws SQLException {
        try (var rs = c.createStatement().executeQuery(sql)) {
            List<String> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
            return rows;
        }
    }
}

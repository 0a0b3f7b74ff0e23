package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TcpProxy;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * DB_SESSION_HOST / DB_SESSION_PORT: the instance session and LISTEN (connections outside the pool)
 * go there, the pool does not; unset, they follow DB_HOST / DB_PORT.
 */
class SessionConnectionTest {

    @Test
    void withoutSessionSettingsTheSessionFollowsTheDatabaseHostAndPort() {
        try (AppInstance app = AppInstance.start(TestPostgres.createDatabase(), "session-default", Map.of())) {
            var db = app.context().getBean(StarPetsProperties.class).db();
            assertThat(db.sessionHost()).isEqualTo("127.0.0.1");
            assertThat(db.sessionPort()).isEqualTo(TestPostgres.port());
            assertThat(db.sessionSeparate()).isFalse();
        }
    }

    /**
     * The session port is a relay in front of the same server (standing in for a direct connection
     * beside a transaction-mode pooler): closing the relay ends exactly the two session connections.
     */
    @Test
    void theInstanceSessionAndListenGoToTheSessionPortAndThePoolDoesNot() throws Exception {
        String database = TestPostgres.createDatabase();
        try (TcpProxy direct = new TcpProxy(TestPostgres.port());
                var observer = TestPostgres.pool(database, 1);
                AppInstance app = AppInstance.start(
                        database, "session-apart", Map.of("starpets.db.session-port", direct.port()))) {
            assertThat(app.context().getBean(StarPetsProperties.class).db().sessionSeparate())
                    .isTrue();
            awaitSessions(observer, 1);
            assertThat(connections(observer, "starpets-session-apart")).isPositive();

            direct.close();

            awaitSessions(observer, 0);
            assertThat(connections(observer, "starpets-session-apart")).isPositive();
        }
    }

    /** Until the instance's session and watch each have {@code count} connections; on a timeout, what there was. */
    private static void awaitSessions(DataSource observer, int count) throws Exception {
        try {
            await().atMost(Timing.SOON)
                    .until(() -> connections(observer, "starpets-session-session-apart") == count
                            && connections(observer, "starpets-watch-session-apart") == count);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError(
                    "expected " + count + " session and " + count + " watch connection(s); " + "pg_stat_activity: "
                            + activity(observer),
                    e);
        }
    }

    private static List<String> activity(DataSource observer) throws Exception {
        List<String> rows = new ArrayList<>();
        try (var c = observer.getConnection();
                var st = c.prepareStatement("select application_name, state, client_port, backend_start,"
                        + " state_change from pg_stat_activity where application_name like 'starpets-%'");
                var rs = st.executeQuery()) {
            while (rs.next()) {
                rows.add(rs.getString(1) + " " + rs.getString(2) + " port " + rs.getInt(3) + " since "
                        + rs.getTimestamp(4).toInstant() + " changed " + rs.getTimestamp(5));
            }
        }
        return rows;
    }

    private static int connections(DataSource observer, String applicationName) throws Exception {
        try (var c = observer.getConnection();
                var st = c.prepareStatement("select count(*) from pg_stat_activity where application_name = ?")) {
            st.setString(1, applicationName);
            try (var rs = st.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }
}

package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.support.ReservedPort;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The embedded PostgreSQL keeps users' data: it runs durable, not with the test defaults. */
class EmbeddedPostgresDurabilityTest {

    @Test
    void theEmbeddedServerFlushesEveryCommitToDisk() throws Exception {
        Path dir = Files.createTempDirectory("starpets-durable");
        try (ReservedPort port = ReservedPort.take();
                DatabaseEndpoint endpoint =
                        EmbeddedPostgresServer.start(StarPetsProperties.Db.embedded(dir, port.number()));
                var c = DriverManager.getConnection(endpoint.jdbcUrl(), endpoint.user(), endpoint.password());
                var st = c.createStatement();
                ResultSet rs = st.executeQuery("select name || '=' || setting from pg_settings"
                        + " where name in ('fsync', 'synchronous_commit', 'full_page_writes') order by name")) {
            List<String> settings = new ArrayList<>();
            while (rs.next()) {
                settings.add(rs.getString(1));
            }
            assertThat(settings).containsExactly("fsync=on", "full_page_writes=on", "synchronous_commit=on");
        }
    }
}

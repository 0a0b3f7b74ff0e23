package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;

/** The database's clock, the only clock due times are computed from (instances' clocks may differ). */
final class DbClock {

    private static final NamedSql NOW = NamedSql.of("select now()");

    private DbClock() {}

    /** {@code now()} on {@code c}: in a transaction, the time it started. */
    static Instant now(Connection c) throws SQLException {
        try (var st = NOW.prepare(c);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return InstanceRepository.instant(rs, "now");
        }
    }
}

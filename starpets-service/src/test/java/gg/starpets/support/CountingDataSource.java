package gg.starpets.support;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.springframework.jdbc.datasource.DelegatingDataSource;

/** A real pool that counts the connections taken from it: how many a command or a request needs. */
public final class CountingDataSource extends DelegatingDataSource {

    private final AtomicInteger taken = new AtomicInteger();

    public CountingDataSource(DataSource pool) {
        super(pool);
    }

    @Override
    public Connection getConnection() throws SQLException {
        taken.incrementAndGet();
        return super.getConnection();
    }

    /** Connections taken since the last {@link #reset()}. */
    public int taken() {
        return taken.get();
    }

    public void reset() {
        taken.set(0);
    }
}

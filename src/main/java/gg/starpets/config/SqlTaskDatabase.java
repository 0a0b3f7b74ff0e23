package gg.starpets.config;

import com.zaxxer.hikari.HikariDataSource;
import javax.sql.DataSource;

/**
 * The StarPets database as {@code sql} tasks see it: their own role, their own small pool. Not a
 * {@code DataSource} bean, so that nothing else (health checks, pool metrics, an injection point that
 * wants "the" DataSource) ever connects through it.
 */
public final class SqlTaskDatabase implements AutoCloseable {

    private final HikariDataSource pool;

    SqlTaskDatabase(HikariDataSource pool) {
        this.pool = pool;
    }

    public DataSource dataSource() {
        return pool;
    }

    @Override
    public void close() {
        pool.close();
    }
}

package gg.starpets.config;

import com.zaxxer.hikari.HikariDataSource;
import javax.sql.DataSource;

/**
 * The StarPets database as {@code sql} tasks see it: their own role, their own small pool. Not a
 * {@code DataSource} bean, so that nothing else (health checks, pool metrics, an injection point that
 * wants "the" DataSource) ever connects through it. Its connections' search_path is the role's own, not
 * StarPets' schema: statements address the user's tables as anywhere else.
 */
public final class SqlTaskDatabase implements AutoCloseable {

    private final HikariDataSource pool;
    private final String starPetsSchema;

    SqlTaskDatabase(HikariDataSource pool, String starPetsSchema) {
        this.pool = pool;
        this.starPetsSchema = starPetsSchema;
    }

    /** Where StarPets' tables and the fenced commit's function are, which these connections name in full. */
    public String starPetsSchema() {
        return starPetsSchema;
    }

    public DataSource dataSource() {
        return pool;
    }

    @Override
    public void close() {
        pool.close();
    }
}

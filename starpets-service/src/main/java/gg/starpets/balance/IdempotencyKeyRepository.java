package gg.starpets.balance;

import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Expiry of {@code balance_idempotency_keys}; keys are written and read by {@link UserRepository#applyBatch}. */
@Repository
class IdempotencyKeyRepository {

    /**
     * Deletes up to {@code :batch} expired keys, oldest first. Rows another transaction holds (another
     * instance pruning, a retry re-using an expired key) are skipped, never waited for.
     */
    private static final String DELETE_EXPIRED = """
            delete from balance_idempotency_keys
             where key in (select key
                             from balance_idempotency_keys
                            where expires_at <= now()
                            order by expires_at
                            limit :batch
                              for update skip locked)
            """;

    private final JdbcClient jdbc;

    IdempotencyKeyRepository(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
    }

    /** Deletes at most {@code batch} expired keys; returns how many. */
    int deleteExpired(int batch) {
        return jdbc.sql(DELETE_EXPIRED).param("batch", batch).update();
    }
}

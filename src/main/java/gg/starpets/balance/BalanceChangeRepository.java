package gg.starpets.balance;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Reads the ledger, {@code balance_changes}; its rows are written by {@link UserRepository#applyBatch}. */
@Repository
class BalanceChangeRepository {

    private static final String FIND = """
            select id, amount, balance_after, created_at, idempotency_key, instance_id
              from balance_changes
             where user_id = :userId
               and id < coalesce(:before, 9223372036854775807)
             order by id desc
             limit :limit
            """;

    /** One applied change: the amount and the balance right after it. */
    record BalanceChange(
            long id,
            BigDecimal amount,
            BigDecimal balanceAfter,
            Instant createdAt,
            @Nullable String idempotencyKey,
            String instanceId) {}

    private final JdbcClient jdbc;

    BalanceChangeRepository(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
    }

    /** The user's changes, newest first, with ids below {@code before} when given. */
    List<BalanceChange> find(long userId, @Nullable Long before, int limit) {
        return jdbc.sql(FIND)
                .param("userId", userId)
                .param("before", before, java.sql.Types.BIGINT)
                .param("limit", limit)
                .query((rs, row) -> new BalanceChange(
                        rs.getLong("id"),
                        rs.getBigDecimal("amount"),
                        rs.getBigDecimal("balance_after"),
                        rs.getObject("created_at", java.time.OffsetDateTime.class)
                                .toInstant(),
                        rs.getString("idempotency_key"),
                        rs.getString("instance_id")))
                .list();
    }
}

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

    /**
     * Deletes the oldest rows, at most {@code :batch} and only those older than the retention, and adds
     * what they summed to, per user, to {@code balance_changes_pruned}, in one statement: the balance is
     * still the starting balance plus the pruned sum plus the rows left. Only the first {@code :batch}
     * rows by id are looked at (ids follow time), so a pass reads at most that many rows of the index
     * whatever the ledger's size. Rows another pruner holds are skipped, never waited for.
     */
    private static final String PRUNE = """
            with oldest as (
                select id from balance_changes order by id limit :batch for update skip locked
            ),
            gone as (
                delete from balance_changes c
                 using oldest o
                 where c.id = o.id
                   and c.created_at < now() - make_interval(secs => :retentionSeconds)
                returning c.id, c.user_id, c.amount
            ),
            carried as (
                insert into balance_changes_pruned as p (user_id, amount, changes, through_id)
                select user_id, sum(amount), count(*), max(id) from gone group by user_id
                    on conflict (user_id) do update
                   set amount = p.amount + excluded.amount,
                       changes = p.changes + excluded.changes,
                       through_id = greatest(p.through_id, excluded.through_id)
            )
            select count(*) from gone
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

    /** Deletes at most {@code batch} rows older than {@code retention}; returns how many. */
    int pruneOlderThan(java.time.Duration retention, int batch) {
        return jdbc.sql(PRUNE)
                .param("batch", batch)
                .param("retentionSeconds", retention.toSeconds())
                .query(Integer.class)
                .single();
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

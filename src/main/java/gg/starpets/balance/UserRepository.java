package gg.starpets.balance;

import java.math.BigDecimal;
import java.util.Optional;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The {@code users} table. Every statement runs on its own in auto-commit: each is atomic by itself. */
@Repository
class UserRepository {

    /**
     * The whole of a balance change: one UPDATE whose condition and arithmetic PostgreSQL evaluates
     * on the row it has locked, so that concurrent changes of one user queue on that row lock and
     * each sees the balance the previous one left (in READ COMMITTED, a waiting UPDATE re-checks its
     * WHERE on the newest row version). The outer select only says whether the user exists, so that
     * a refused change costs no second round trip.
     */
    private static final String CHANGE = """
            with changed as (
                update users
                   set balance = balance + :amount,
                       updated_at = now()
                 where id = :userId
                   and balance + :amount between 0 and :maxBalance
             returning balance
            )
            select (select balance from changed) as balance,
                   exists (select 1 from users where id = :userId) as user_exists
            """;

    private static final String FIND_BALANCE = """
            select balance from users where id = :userId
            """;

    /** What a change did: applied (the new balance), refused (user exists, no balance), or no such user. */
    record Change(@Nullable BigDecimal balance, boolean userExists) {

        boolean applied() {
            return balance != null;
        }
    }

    private final JdbcClient jdbc;

    UserRepository(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
    }

    /** Adds {@code amount} (negative: takes it away) unless the balance would leave 0 … {@link Money#MAX_BALANCE}. */
    Change change(long userId, BigDecimal amount) {
        return jdbc.sql(CHANGE)
                .param("userId", userId)
                .param("amount", amount)
                .param("maxBalance", Money.MAX_BALANCE)
                .query((rs, row) -> new Change(rs.getBigDecimal("balance"), rs.getBoolean("user_exists")))
                .single();
    }

    Optional<BigDecimal> findBalance(long userId) {
        return jdbc.sql(FIND_BALANCE)
                .param("userId", userId)
                .query(BigDecimal.class)
                .optional();
    }
}

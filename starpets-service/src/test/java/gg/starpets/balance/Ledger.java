package gg.starpets.balance;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/** The checks every balance test runs on the ledger, read straight from the tables. */
final class Ledger {

    /** One row of {@code balance_changes}. */
    record Row(long id, BigDecimal amount, BigDecimal balanceAfter, String idempotencyKey, String instanceId) {}

    private Ledger() {}

    static List<Row> rows(DataSource db, long userId) {
        try (var c = db.getConnection();
                var st = c.prepareStatement("select id, amount, balance_after, idempotency_key, instance_id"
                        + " from balance_changes where user_id = ? order by id")) {
            st.setLong(1, userId);
            try (var rs = st.executeQuery()) {
                List<Row> rows = new ArrayList<>();
                while (rs.next()) {
                    rows.add(new Row(
                            rs.getLong(1), rs.getBigDecimal(2), rs.getBigDecimal(3), rs.getString(4), rs.getString(5)));
                }
                return rows;
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The sum of the user's ledger rows deleted for their age ({@code balance_changes_pruned}). */
    static BigDecimal pruned(DataSource db, long userId) {
        try (var c = db.getConnection();
                var st = c.prepareStatement("select amount from balance_changes_pruned where user_id = ?")) {
            st.setLong(1, userId);
            try (var rs = st.executeQuery()) {
                return rs.next() ? rs.getBigDecimal(1) : BigDecimal.ZERO;
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static BigDecimal balance(DataSource db, long userId) {
        try (var c = db.getConnection();
                var st = c.prepareStatement("select balance from users where id = ?")) {
            st.setLong(1, userId);
            try (var rs = st.executeQuery()) {
                return rs.next() ? rs.getBigDecimal(1) : null;
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The balance is the starting balance plus the pruned rows' sum plus the ledger's sum, and the ledger is one chain in id
     * order: each row's balance after is the previous one's plus its amount, never negative.
     */
    static List<Row> assertBalanceIsStartPlusLedger(DataSource db, long userId, BigDecimal start) {
        List<Row> rows = rows(db, userId);
        // What the rows pruned for age added up to (ledger retention) counts as part of the start.
        BigDecimal running = start.add(pruned(db, userId));
        for (Row row : rows) {
            running = running.add(row.amount());
            assertThat(row.balanceAfter())
                    .as("balance after ledger row %d", row.id())
                    .isEqualByComparingTo(running);
            assertThat(running.signum()).isNotNegative();
        }
        assertThat(balance(db, userId))
                .as("balance of user %d = start + ledger", userId)
                .isEqualByComparingTo(running);
        return rows;
    }

    /** The balances the successful answers gave are exactly the ledger's balances after, one to one. */
    static void assertAnswersMatchLedger(Collection<BigDecimal> answeredBalances, List<Row> rows) {
        assertThat(counts(answeredBalances, b -> b))
                .as("each 200's balance is one ledger row's balanceAfter, one to one")
                .isEqualTo(counts(rows, Row::balanceAfter));
    }

    private static <T> Map<String, Long> counts(Collection<T> values, Function<T, BigDecimal> money) {
        return values.stream()
                .map(v -> money.apply(v).setScale(2).toPlainString())
                .collect(Collectors.groupingBy(s -> s, TreeMap::new, Collectors.counting()));
    }
}

package gg.starpets.balance;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The balance feature's settings ({@code starpets.balance} in application.yml, where the defaults are).
 *
 * @param batchSize the most changes of one user one statement applies together
 * @param idempotencyKeyTtl how long the first answer to an Idempotency-Key is kept and given again
 * @param idempotencyPruneInterval how often each instance deletes expired keys
 * @param idempotencyPruneBatch the most keys one delete removes (a run repeats it while batches come back full);
 *     the most ledger rows one delete removes too
 * @param ledgerRetention how long a ledger row is kept; zero keeps the ledger for ever
 */
@ConfigurationProperties("starpets.balance")
record BalanceSettings(
        int batchSize,
        Duration idempotencyKeyTtl,
        Duration idempotencyPruneInterval,
        int idempotencyPruneBatch,
        Duration ledgerRetention) {

    BalanceSettings {
        if (batchSize < 1 || batchSize > 10_000) {
            throw new IllegalArgumentException("starpets.balance.batch-size must be 1 … 10000, not " + batchSize);
        }
        requirePositive("idempotency-key-ttl", idempotencyKeyTtl);
        requirePositive("idempotency-prune-interval", idempotencyPruneInterval);
        if (idempotencyPruneBatch < 1) {
            throw new IllegalArgumentException("starpets.balance.idempotency-prune-batch must be positive");
        }
        ledgerRetention = ledgerRetention == null ? Duration.ZERO : ledgerRetention;
        if (ledgerRetention.isNegative() || !ledgerRetention.isZero() && ledgerRetention.toSeconds() < 1) {
            throw new IllegalArgumentException(
                    "starpets.balance.ledger-retention must be 0 (keep for ever) or at least 1s, not "
                            + ledgerRetention);
        }
    }

    private static void requirePositive(String name, Duration value) {
        if (value == null || value.isNegative() || value.isZero() || value.toSeconds() < 1) {
            throw new IllegalArgumentException("starpets.balance." + name + " must be at least 1s, not " + value);
        }
    }
}

package gg.starpets.balance;

import gg.starpets.observability.MetricNames;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.stereotype.Component;

/**
 * Deletes expired Idempotency-Keys, at most {@code idempotency-prune-batch} rows a delete. Expired keys
 * are already ignored by the change statement; this only keeps the table small.
 */
@Component
class IdempotencyKeyPruner extends BatchPruner {

    private final IdempotencyKeyRepository keys;
    private final BalanceSettings settings;

    IdempotencyKeyPruner(IdempotencyKeyRepository keys, BalanceSettings settings, MeterRegistry registry) {
        super(
                "expired idempotency keys",
                MetricNames.BALANCE_IDEMPOTENCY_KEYS_PRUNED,
                "Expired idempotency keys this instance deleted",
                registry);
        this.keys = keys;
        this.settings = settings;
    }

    @Override
    int batchSize() {
        return settings.idempotencyPruneBatch();
    }

    @Override
    int deleteBatch(int batch) {
        return keys.deleteExpired(batch);
    }
}

package gg.starpets.balance;

import gg.starpets.observability.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.stereotype.Component;

/**
 * Deletes expired Idempotency-Keys, in deletes of at most {@code idempotency-prune-batch} rows (short
 * transactions, short locks); run by {@link BalanceHousekeeping}. Expired keys are already ignored by
 * the change statement; this only keeps the table small.
 */
@Component
class IdempotencyKeyPruner {

    private final IdempotencyKeyRepository keys;
    private final BalanceSettings settings;
    private final Counter pruned;

    IdempotencyKeyPruner(IdempotencyKeyRepository keys, BalanceSettings settings, MeterRegistry registry) {
        this.keys = keys;
        this.settings = settings;
        this.pruned = Counter.builder(MetricNames.BALANCE_IDEMPOTENCY_KEYS_PRUNED)
                .description("Expired idempotency keys this instance deleted")
                .register(registry);
    }

    /** One pass: deletes batches of expired keys until one comes back short; returns how many went. */
    int runOnce() {
        int batch = settings.idempotencyPruneBatch();
        return BalanceHousekeeping.inBatches(
                "expired idempotency keys", batch, () -> keys.deleteExpired(batch), pruned);
    }
}

package gg.starpets.balance;

import gg.starpets.observability.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Deletes expired Idempotency-Keys, in deletes of at most {@code idempotency-prune-batch} rows (short
 * transactions, short locks); run by {@link BalanceHousekeeping}. Expired keys are already ignored by
 * the change statement; this only keeps the table small.
 */
@Component
class IdempotencyKeyPruner {

    /** Bounds one run; a backlog larger than this many batches is worked off over the following runs. */
    static final int MAX_BATCHES_PER_RUN = 100;

    private static final Logger log = LoggerFactory.getLogger(IdempotencyKeyPruner.class);

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
        int total = 0;
        try {
            for (int i = 0; i < MAX_BATCHES_PER_RUN; i++) {
                int deleted = keys.deleteExpired(settings.idempotencyPruneBatch());
                total += deleted;
                pruned.increment(deleted);
                if (deleted < settings.idempotencyPruneBatch()) {
                    break;
                }
            }
        } catch (RuntimeException e) {
            log.warn("Could not delete expired idempotency keys: {}", e.getMessage());
        }
        return total;
    }
}

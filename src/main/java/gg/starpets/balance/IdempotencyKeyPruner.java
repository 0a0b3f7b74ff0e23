package gg.starpets.balance;

import gg.starpets.observability.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Deletes expired Idempotency-Keys on every instance, every {@code idempotency-prune-interval}, in
 * deletes of at most {@code idempotency-prune-batch} rows (short transactions, short locks). Expired
 * keys are already ignored by the change statement; this only keeps the table small.
 */
@Component
class IdempotencyKeyPruner implements SmartLifecycle {

    static final String THREAD_NAME = "starpets-idempotency-prune";

    /** Bounds one run; a backlog larger than this many batches is worked off over the following runs. */
    static final int MAX_BATCHES_PER_RUN = 100;

    private static final Logger log = LoggerFactory.getLogger(IdempotencyKeyPruner.class);

    private final IdempotencyKeyRepository keys;
    private final BalanceSettings settings;
    private final Counter pruned;
    private ScheduledExecutorService executor;

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

    @Override
    public synchronized void start() {
        executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, THREAD_NAME);
            t.setDaemon(true);
            return t;
        });
        long interval = settings.idempotencyPruneInterval().toMillis();
        executor.scheduleWithFixedDelay(this::runOnce, interval, interval, TimeUnit.MILLISECONDS);
    }

    @Override
    public synchronized void stop() {
        if (executor != null) {
            executor.shutdownNow();
            executor = null;
        }
    }

    @Override
    public synchronized boolean isRunning() {
        return executor != null;
    }
}

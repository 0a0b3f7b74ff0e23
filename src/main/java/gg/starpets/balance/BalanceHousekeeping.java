package gg.starpets.balance;

import io.micrometer.core.instrument.Counter;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The balance feature's periodic duties, on one thread ({@value #THREAD_NAME}) of every instance, every
 * {@code idempotency-prune-interval}: expired idempotency keys ({@link IdempotencyKeyPruner}), then ledger
 * rows past their retention ({@link LedgerPruner}).
 */
@Component
class BalanceHousekeeping implements SmartLifecycle {

    static final String THREAD_NAME = "starpets-balance-prune";

    /** Bounds one run of a duty; a backlog larger than this many batches is worked off over the following runs. */
    static final int MAX_BATCHES_PER_RUN = 100;

    private static final Logger log = LoggerFactory.getLogger(BalanceHousekeeping.class);

    private final IdempotencyKeyPruner keys;
    private final LedgerPruner ledger;
    private final BalanceSettings settings;
    private ScheduledExecutorService executor;

    BalanceHousekeeping(IdempotencyKeyPruner keys, LedgerPruner ledger, BalanceSettings settings) {
        this.keys = keys;
        this.ledger = ledger;
        this.settings = settings;
    }

    void runOnce() {
        keys.runOnce();
        ledger.runOnce();
    }

    /**
     * Deletes batch after batch ({@code deleteBatch} returns how many one removed) until one comes back
     * short of {@code batch}, at most {@value #MAX_BATCHES_PER_RUN}; counts them; returns how many went.
     * A failure ends the run (the next one tries again) with a warning naming {@code what}.
     */
    static int inBatches(String what, int batch, IntSupplier deleteBatch, Counter pruned) {
        int total = 0;
        try {
            for (int i = 0; i < MAX_BATCHES_PER_RUN; i++) {
                int deleted = deleteBatch.getAsInt();
                total += deleted;
                pruned.increment(deleted);
                if (deleted < batch) {
                    break;
                }
            }
        } catch (RuntimeException e) {
            log.warn("Could not delete {}: {}", what, e.getMessage());
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

package gg.starpets.balance;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
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

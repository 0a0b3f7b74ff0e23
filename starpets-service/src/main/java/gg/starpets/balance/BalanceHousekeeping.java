package gg.starpets.balance;

import gg.starpets.config.PeriodicDuty;
import java.time.Duration;
import org.springframework.stereotype.Component;

/**
 * The balance feature's periodic duties, on one thread ({@value #THREAD_NAME}) of every instance, every
 * {@code idempotency-prune-interval}: expired idempotency keys ({@link IdempotencyKeyPruner}), then ledger
 * rows past their retention ({@link LedgerPruner}).
 */
@Component
class BalanceHousekeeping extends PeriodicDuty {

    static final String THREAD_NAME = "starpets-balance-prune";

    private final IdempotencyKeyPruner keys;
    private final LedgerPruner ledger;
    private final BalanceSettings settings;

    BalanceHousekeeping(IdempotencyKeyPruner keys, LedgerPruner ledger, BalanceSettings settings) {
        super(THREAD_NAME);
        this.keys = keys;
        this.ledger = ledger;
        this.settings = settings;
    }

    @Override
    protected void runOnce() {
        keys.runOnce();
        ledger.runOnce();
    }

    @Override
    protected Duration initialDelay() {
        return settings.idempotencyPruneInterval();
    }

    @Override
    protected Duration interval() {
        return settings.idempotencyPruneInterval();
    }
}

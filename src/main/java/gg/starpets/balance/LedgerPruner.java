package gg.starpets.balance;

import gg.starpets.observability.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.stereotype.Component;

/**
 * Ledger retention: deletes rows of {@code balance_changes} older than {@code ledger-retention}
 * (none when it is zero), carrying their sum per user into {@code balance_changes_pruned} in the same
 * statement, in batches as large as the idempotency keys'; run by {@link BalanceHousekeeping}.
 */
@Component
class LedgerPruner {

    private final BalanceChangeRepository changes;
    private final BalanceSettings settings;
    private final Counter pruned;

    LedgerPruner(BalanceChangeRepository changes, BalanceSettings settings, MeterRegistry registry) {
        this.changes = changes;
        this.settings = settings;
        this.pruned = Counter.builder(MetricNames.BALANCE_LEDGER_ROWS_PRUNED)
                .description("Ledger rows past their retention this instance deleted")
                .register(registry);
    }

    /** One pass: deletes batches of old rows until one comes back short; returns how many went. */
    int runOnce() {
        if (settings.ledgerRetention().isZero()) {
            return 0;
        }
        int batch = settings.idempotencyPruneBatch();
        return BalanceHousekeeping.inBatches(
                "ledger rows past their retention",
                batch,
                () -> changes.pruneOlderThan(settings.ledgerRetention(), batch),
                pruned);
    }
}

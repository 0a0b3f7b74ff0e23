package gg.starpets.balance;

import gg.starpets.observability.MetricNames;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.stereotype.Component;

/**
 * Ledger retention: deletes rows of {@code balance_changes} older than {@code ledger-retention} (none
 * when it is zero), carrying their sum per user into {@code balance_changes_pruned} in the same
 * statement, in batches as large as the idempotency keys'.
 */
@Component
class LedgerPruner extends BatchPruner {

    private final BalanceChangeRepository changes;
    private final BalanceSettings settings;

    LedgerPruner(BalanceChangeRepository changes, BalanceSettings settings, MeterRegistry registry) {
        super(
                "ledger rows past their retention",
                MetricNames.BALANCE_LEDGER_ROWS_PRUNED,
                "Ledger rows past their retention this instance deleted",
                registry);
        this.changes = changes;
        this.settings = settings;
    }

    @Override
    int batchSize() {
        return settings.ledgerRetention().isZero() ? 0 : settings.idempotencyPruneBatch();
    }

    @Override
    int deleteBatch(int batch) {
        return changes.pruneOlderThan(settings.ledgerRetention(), batch);
    }
}

package gg.starpets.balance;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes rows in batches (short transactions, short locks) until a batch comes back short, at most
 * {@value #MAX_BATCHES_PER_RUN} a run, counting them; run by {@link BalanceHousekeeping}. A failure ends
 * the run (the next one tries again) with a warning.
 */
abstract class BatchPruner {

    /** Bounds one run; a backlog larger than this many batches is worked off over the following runs. */
    static final int MAX_BATCHES_PER_RUN = 100;

    private static final Logger log = LoggerFactory.getLogger(BatchPruner.class);

    private final String what;
    private final Counter pruned;

    BatchPruner(String what, String metric, String description, MeterRegistry registry) {
        this.what = what;
        this.pruned = Counter.builder(metric).description(description).register(registry);
    }

    /** The rows a batch may delete; zero or less: nothing to do this run. */
    abstract int batchSize();

    /** Deletes one batch of at most {@code batch} rows; returns how many went. */
    abstract int deleteBatch(int batch);

    /** One run: batch after batch until one comes back short; returns how many rows went. */
    int runOnce() {
        int batch = batchSize();
        int total = 0;
        if (batch <= 0) {
            return 0;
        }
        try {
            for (int i = 0; i < MAX_BATCHES_PER_RUN; i++) {
                int deleted = deleteBatch(batch);
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
}

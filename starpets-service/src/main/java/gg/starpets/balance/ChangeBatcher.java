package gg.starpets.balance;

import gg.starpets.balance.ChangeResult.Outcome;
import gg.starpets.balance.UserRepository.Request;
import gg.starpets.observability.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import java.math.BigDecimal;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;

/**
 * A group commit per user: the changes of one user that arrive on this instance while a statement for
 * that user is running are applied together by the next statement, in arrival order, each with its
 * own outcome and ledger row ({@link UserRepository#applyBatch}). There is no timer and no queue
 * beyond the requests waiting right now: a change that finds its user idle is applied at once; under
 * load, a batch is whatever arrived during the previous statement (at most {@code batchSize}). Every
 * caller waits for its own committed outcome, so the answer is the change, as before.
 *
 * <p>While a user has changes waiting or running here, one virtual thread ({@code starpets-balance-batch})
 * applies them, batch after batch, and ends when none are left. One statement at a time per user and
 * instance: a second one would only wait for the row lock, holding a pooled connection.
 */
@Component
class ChangeBatcher {

    static final String THREAD_NAME = "starpets-balance-batch";

    private record Waiting(Request request, CompletableFuture<ChangeResult> result) {}

    private final UserRepository users;
    private final int batchSize;
    /** A user is present exactly while its batch thread runs; its queue holds the changes not yet taken. */
    private final ConcurrentHashMap<Long, ArrayDeque<Waiting>> waitingByUser = new ConcurrentHashMap<>();
    /**
     * Keys of the requests in progress on this instance, each with its client (a key is its client's
     * own): a second one with the same key is refused at once.
     */
    private final Set<String> keysInFlight = ConcurrentHashMap.newKeySet();

    private final DistributionSummary batchSizes;
    private final Counter replays;

    ChangeBatcher(UserRepository users, BalanceSettings settings, MeterRegistry registry) {
        this.users = users;
        this.batchSize = settings.batchSize();
        this.batchSizes = DistributionSummary.builder(MetricNames.BALANCE_BATCH_SIZE)
                .description("Changes of one user applied by one statement")
                .serviceLevelObjectives(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
                .register(registry);
        this.replays = Counter.builder(MetricNames.BALANCE_IDEMPOTENT_REPLAYS)
                .description("First answers given again for an Idempotency-Key")
                .register(registry);
    }

    /** Applies one change of {@code client} and waits for its committed outcome. */
    ChangeResult change(long userId, BigDecimal amount, String client, @Nullable String key) {
        // A key is printable ASCII: a newline keeps client and key apart.
        String inFlight = key == null ? null : client + "\n" + key;
        if (inFlight != null && !keysInFlight.add(inFlight)) {
            return ChangeResult.of(Outcome.KEY_IN_PROGRESS);
        }
        try {
            Waiting waiting = new Waiting(new Request(amount, client, key), new CompletableFuture<>());
            boolean[] idle = {false};
            waitingByUser.compute(userId, (id, queue) -> {
                if (queue == null) {
                    queue = new ArrayDeque<>();
                    idle[0] = true;
                }
                queue.add(waiting);
                return queue;
            });
            if (idle[0]) {
                Thread.ofVirtual().name(THREAD_NAME).start(() -> drain(userId));
            }
            return await(waiting.result());
        } finally {
            if (inFlight != null) {
                keysInFlight.remove(inFlight);
            }
        }
    }

    /** Changes of this user waiting for the next batch here (not counting the one running). */
    int waiting(long userId) {
        int[] waiting = {0};
        waitingByUser.computeIfPresent(userId, (id, queue) -> {
            waiting[0] = queue.size();
            return queue;
        });
        return waiting[0];
    }

    /** Applies batch after batch until none is waiting; the user's entry goes with the last one taken. */
    private void drain(long userId) {
        while (true) {
            List<Waiting> batch = new ArrayList<>();
            waitingByUser.computeIfPresent(userId, (id, queue) -> {
                while (batch.size() < batchSize && !queue.isEmpty()) {
                    batch.add(queue.poll());
                }
                // Removed when empty, atomically with the look: the next change starts a new thread.
                return batch.isEmpty() ? null : queue;
            });
            if (batch.isEmpty()) {
                return;
            }
            apply(userId, batch);
        }
    }

    private void apply(long userId, List<Waiting> batch) {
        batchSizes.record(batch.size());
        try {
            List<ChangeResult> results = users.applyBatch(
                    userId, batch.stream().map(Waiting::request).toList());
            for (int i = 0; i < batch.size(); i++) {
                ChangeResult result = results.get(i);
                if (result.replayed()) {
                    replays.increment();
                }
                batch.get(i).result().complete(result);
            }
        } catch (RuntimeException | Error e) {
            // The statement (or its transaction) failed as a whole: nothing of this batch was applied.
            // Not rethrown: the thread goes on with the next batch, so no caller is left waiting.
            batch.forEach(w -> w.result().completeExceptionally(e));
        }
    }

    private static ChangeResult await(CompletableFuture<ChangeResult> result) {
        try {
            return result.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw e;
        }
    }
}

package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * A run's stop reason is decided once, when its handler returns: what is written follows it. A run claimed
 * ahead of its due time starts its handler at that time, and only while its hold is sure.
 */
class LocalRunTest {

    private static final Duration AHEAD = Duration.ofMillis(100);

    private final ManualClock clock = new ManualClock();

    @Test
    void aStopAskedAfterTheHandlerReturnedChangesNothingSoTheFinishedRunIsWritten() {
        LocalRun run = clock.claim(1, "a");

        assertThat(run.handlerReturned()).isNull();
        // A heartbeat that saw the handler still executing a moment ago, and a timeout firing now.
        run.stop(LocalRun.StopReason.FENCE_LOST);
        run.stop(LocalRun.StopReason.TIMEOUT);

        assertThat(run.stopReason()).isNull();
    }

    @Test
    void aStopAskedBeforeTheHandlerReturnsIsTheOneReturnedAndTheFirstReasonWins() {
        LocalRun run = clock.claim(1, "a");

        run.stop(LocalRun.StopReason.CANCELLED);
        run.stop(LocalRun.StopReason.FENCE_LOST);

        assertThat(run.handlerReturned()).isEqualTo(LocalRun.StopReason.CANCELLED);
        assertThat(run.stopReason()).isEqualTo(LocalRun.StopReason.CANCELLED);
    }

    @Test
    void aRunClaimedAheadStartsAtItsStartTimeNotBefore() {
        clock.sessionsAnswered();
        LocalRun run = clock.claimAhead(1, "a", AHEAD);

        CompletableFuture<Void> start = awaitStart(run);
        // The test's clock stands still: its start time never comes.
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> !start.isDone());

        clock.advance(AHEAD);
        assertThat(start).succeedsWithin(Duration.ofSeconds(5));
    }

    @Test
    void aRunClaimedAheadWhoseHoldLapsedBeforeItsStartWaitsForARenewalAndNeverStartsIfStopped() {
        clock.sessionsAnswered();
        LocalRun stopped = clock.claimAhead(1, "a", AHEAD);
        LocalRun confirmed = clock.claimAhead(2, "b", AHEAD);
        // A freeze longer than the lease between the claim and the start: the tasks may be elsewhere now.
        clock.advance(ManualClock.LEASE.multipliedBy(2));

        CompletableFuture<Void> stoppedStart = awaitStart(stopped);
        CompletableFuture<Void> confirmedStart = awaitStart(confirmed);
        await().during(Duration.ofMillis(300))
                .atMost(Duration.ofSeconds(2))
                .until(() -> !stoppedStart.isDone() && !confirmedStart.isDone());

        // The heartbeat's renewal returned run 2 (its task is still this instance's), not run 1.
        long sent = clock.now();
        clock.sessionsAnswered();
        confirmed.renewed(sent);
        clock.guard.renewed(sent);
        stopped.stop(LocalRun.StopReason.FENCE_LOST);

        assertThat(confirmedStart).succeedsWithin(Duration.ofSeconds(5));
        assertThat(stoppedStart)
                .failsWithin(Duration.ofSeconds(5))
                .withThrowableOfType(ExecutionException.class)
                .withCauseInstanceOf(InterruptedException.class);
    }

    private static CompletableFuture<Void> awaitStart(LocalRun run) {
        return CompletableFuture.runAsync(() -> {
            try {
                run.awaitStart();
            } catch (InterruptedException e) {
                throw new CompletionException(e);
            }
        });
    }
}

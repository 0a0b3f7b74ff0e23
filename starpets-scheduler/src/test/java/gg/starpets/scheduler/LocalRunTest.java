package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A run's stop reason is decided once, when its handler returns: what is written follows it. */
class LocalRunTest {

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
}

package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ClaimLoopSleepTest {

    private static final Duration POLL = Duration.ofSeconds(5);
    private static final Duration HEARTBEAT = Duration.ofSeconds(1);

    private static Duration sleep(int claimed, int quota, Duration nextDueIn) {
        return sleep(claimed, quota, nextDueIn, 0);
    }

    private static Duration sleep(int claimed, int quota, Duration nextDueIn, int misses) {
        return new Claimer.Outcome(claimed, quota, nextDueIn).sleep(POLL, HEARTBEAT, misses);
    }

    @Test
    void aFullClaimLooksAgainAtOnceForMore() {
        assertThat(sleep(3, 3, Duration.ZERO)).isZero();
    }

    @Test
    void withNothingDueYetItWakesWhenTheFirstTaskFallsDueEvenWithNoShareNow() {
        // Nothing due means no share: waiting a heartbeat here would start every run up to a second late.
        assertThat(sleep(0, 0, Duration.ofMillis(120))).isEqualTo(Duration.ofMillis(120));
        assertThat(sleep(0, 2, Duration.ofMillis(120))).isEqualTo(Duration.ofMillis(120));
    }

    @Test
    void theNextDueTimeIsCappedByThePoll() {
        assertThat(sleep(0, 0, Duration.ofMinutes(10))).isEqualTo(POLL);
    }

    @Test
    void withNoTaskToWaitForItPolls() {
        assertThat(sleep(0, 0, null)).isEqualTo(POLL);
    }

    @Test
    void dueTasksBeyondItsShareAreLookedAtAgainWhenTheOthersTurnHasPassed() {
        // Not a miss: its turn comes once the others have had theirs, however long it waited before.
        assertThat(sleep(0, 0, Duration.ZERO, 0)).isEqualTo(HEARTBEAT.dividedBy(20));
        assertThat(sleep(0, 0, Duration.ZERO, 50)).isEqualTo(HEARTBEAT.dividedBy(20));
    }

    @Test
    void dueRowsItCouldNotLockAreLookedAtAgainSoonBackingOffToAHeartbeat() {
        // Rows other instances are claiming are free in a moment; one an open transaction holds is not,
        // and looking again at once for ever would spin.
        assertThat(sleep(1, 3, Duration.ZERO, 0)).isEqualTo(Duration.ofMillis(1));
        assertThat(sleep(0, 3, Duration.ZERO, 4)).isEqualTo(Duration.ofMillis(16));
        assertThat(sleep(0, 3, Duration.ZERO, 12)).isEqualTo(HEARTBEAT);
    }
}

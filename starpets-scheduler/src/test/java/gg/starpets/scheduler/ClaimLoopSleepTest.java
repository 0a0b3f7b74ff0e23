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
        return ClaimLoop.sleep(new Claimer.Outcome(claimed, quota, nextDueIn), POLL, HEARTBEAT, misses);
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

    private static ClaimLoop loop(int totalInstances) {
        SchedulerSettings settings = SchedulerSettings.builder("inst-loop")
                .poll(POLL)
                .heartbeat(HEARTBEAT)
                .settle(Duration.ofSeconds(2))
                .totalInstances(totalInstances)
                .build();
        return new ClaimLoop(settings, null, new Wakeup(), () -> false);
    }

    @Test
    void theLoopCountsClaimsInARowThatMissedAndStartsAgainAfterOneThatDidNot() {
        ClaimLoop loop = loop(0);
        Claimer.Outcome missed = new Claimer.Outcome(0, 3, Duration.ZERO);

        assertThat(loop.sleepAfter(missed)).isEqualTo(Duration.ofMillis(2));
        assertThat(loop.sleepAfter(missed)).isEqualTo(Duration.ofMillis(4));
        assertThat(loop.sleepAfter(missed)).isEqualTo(Duration.ofMillis(8));
        assertThat(loop.sleepAfter(new Claimer.Outcome(1, 3, Duration.ZERO)))
                .as("it took one: not a miss")
                .isEqualTo(Duration.ofMillis(1));
        assertThat(loop.sleepAfter(missed)).isEqualTo(Duration.ofMillis(2));
    }

    @Test
    void anInstanceThatCannotClaimNowLooksAgainAQuarterHeartbeatLater() {
        ClaimLoop loop = loop(0);
        Claimer.Outcome missed = new Claimer.Outcome(0, 3, Duration.ZERO);
        loop.sleepAfter(missed);
        loop.sleepAfter(missed);

        assertThat(loop.sleepAfter(Claimer.Outcome.NOT_NOW)).isEqualTo(HEARTBEAT.dividedBy(4));
        assertThat(loop.sleepAfter(missed)).as("the misses start again").isEqualTo(Duration.ofMillis(2));
    }

    @Test
    void settlingEndsWhenAnotherInstanceRunsTasksOrHasSettledSinceOrTheConfiguredTotalIsAlive() {
        ClaimLoop alone = loop(0);
        assertThat(alone.settled(new ShareRepository.Peers(3, 0, 0))).isFalse();
        assertThat(alone.settled(new ShareRepository.Peers(3, 1, 0)))
                .as("joining a running cluster")
                .isTrue();
        assertThat(alone.settleUntil(1_000))
                .isEqualTo(1_000 + Duration.ofSeconds(2).toNanos());

        ClaimLoop ofThree = loop(3);
        assertThat(ofThree.settled(new ShareRepository.Peers(2, 0, 0))).isFalse();
        assertThat(ofThree.settled(new ShareRepository.Peers(3, 0, 0))).isTrue();
        assertThat(ofThree.settled(new ShareRepository.Peers(2, 0, 1)))
                .as("a peer started with it has settled: the split has begun")
                .isTrue();
        assertThat(ofThree.settleUntil(1_000))
                .as("waiting for a total: ten settles at most")
                .isEqualTo(1_000 + Duration.ofSeconds(20).toNanos());
    }
}

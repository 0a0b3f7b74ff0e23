package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The hold's arithmetic on a clock the test moves: how long each run may step, from its own claim or
 * the last renewal that returned it, cut short by a silent or a noticed session loss.
 */
class LeaseGuardTest {

    private static final long LEASE = ManualClock.LEASE.toNanos();
    private static final long GRACE = ManualClock.HEARTBEAT.dividedBy(2).toNanos();
    private static final long SILENT = SchedulerSettings.SILENT_SESSION_LOSS.toNanos();

    private final ManualClock clock = new ManualClock();
    private final LeaseGuard guard = clock.guard;

    /** Time passes with both sessions answering every heartbeat (the watch's ping, the heartbeat's statements). */
    private void sessionsAnswerFor(Duration duration) {
        for (long left = duration.toNanos(); left > 0; left -= ManualClock.HEARTBEAT.toNanos()) {
            clock.advance(Duration.ofNanos(Math.min(left, ManualClock.HEARTBEAT.toNanos())));
            clock.sessionsAnswered();
        }
    }

    /** What the heartbeat does with a renewal sent at {@code sentAt} that returned {@code returned}. */
    private void renewalReturned(long sentAt, LocalRun... returned) {
        for (LocalRun run : returned) {
            run.renewed(sentAt);
        }
        guard.renewed(sentAt);
    }

    @Test
    void aRunIsHeldForALeaseFromItsClaimAndStepsUntilTheMarginBeforeItsEnd() {
        clock.sessionsAnswered();
        long claimed = clock.now();
        LocalRun run = clock.claim(1, "a");

        sessionsAnswerFor(Duration.ofMillis(9_400));
        assertThat(run.holdEnd()).isEqualTo(claimed + LEASE);
        assertThat(run.context.holdEndNanos()).isEqualTo(claimed + LEASE);
        assertThat(run.context.holdMargin()).isEqualTo(Duration.ofNanos(GRACE));
        assertThat(run.mayStep()).isTrue();

        clock.advance(Duration.ofMillis(100));
        assertThat(run.mayStep())
                .as("within the margin before the end of the hold")
                .isFalse();
    }

    @Test
    void aRenewalExtendsOnlyTheRunsItReturned() {
        clock.sessionsAnswered();
        long claimed = clock.now();
        LocalRun renewed = clock.claim(1, "a");
        LocalRun takenOver = clock.claim(2, "b");

        sessionsAnswerFor(Duration.ofSeconds(5));
        long sent = clock.now();
        renewalReturned(sent, renewed);
        sessionsAnswerFor(Duration.ofMillis(4_600));

        // The silent-loss limit of the sessions' last answer (now) comes first here.
        assertThat(renewed.holdEnd()).isEqualTo(Math.min(sent + LEASE, clock.now() + SILENT + GRACE));
        assertThat(renewed.mayStep()).isTrue();
        assertThat(takenOver.holdEnd()).isEqualTo(claimed + LEASE);
        assertThat(takenOver.context.holdEndNanos()).isEqualTo(claimed + LEASE);
        assertThat(takenOver.mayStep()).isFalse();

        // A later renewal that again leaves it out changes nothing for it.
        renewalReturned(clock.now(), renewed);
        assertThat(takenOver.holdEnd()).isEqualTo(claimed + LEASE);
        assertThat(takenOver.mayStep()).isFalse();
    }

    @Test
    void afterAFreezeLongerThanTheLeaseARunTakesNoStepUntilARenewalReturnsIt() {
        clock.sessionsAnswered();
        LocalRun kept = clock.claim(1, "a");
        LocalRun lost = clock.claim(2, "b");
        sessionsAnswerFor(Duration.ofSeconds(2));

        clock.advance(ManualClock.LEASE.multipliedBy(3)); // SIGSTOP ... SIGCONT
        assertThat(kept.mayStep()).isFalse();
        assertThat(lost.mayStep()).isFalse();

        // Awake: the sessions answer again, the watch has a new connection; no renewal yet.
        clock.sessionsAnswered();
        long answered = clock.now();
        guard.watchOpened(answered);
        assertThat(kept.mayStep()).as("the sessions answering is no renewal").isFalse();
        assertThat(lost.mayStep()).isFalse();

        clock.advance(Duration.ofMillis(10));
        long sent = clock.now();
        renewalReturned(sent, kept);
        assertThat(kept.mayStep()).isTrue();
        assertThat(kept.holdEnd()).isEqualTo(answered + SILENT + GRACE);
        assertThat(lost.mayStep()).isFalse();
        assertThat(lost.holdEnd()).isLessThan(clock.now());
    }

    @Test
    void aRunWhoseHoldHasLapsedWaitsInsteadOfSteppingUntilItIsStopped() {
        clock.sessionsAnswered();
        LocalRun run = clock.claim(1, "a");
        clock.advance(ManualClock.LEASE.multipliedBy(2));

        CompletableFuture<Boolean> step = CompletableFuture.supplyAsync(run::mayContinue);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> !step.isDone());

        run.stop(LocalRun.StopReason.FENCE_LOST);
        assertThat(step).succeedsWithin(Duration.ofSeconds(5)).isEqualTo(false);
    }

    @Test
    void withoutAnswersOnASessionTheHoldEndsTheSilentLossLimitAfterItsLastRoundTripPlusTheGrace() {
        clock.sessionsAnswered();
        LocalRun run = clock.claim(1, "a");
        long watchLast = clock.now();
        // The primary keeps answering; the watch's socket went silent (no error seen).
        for (int i = 0; i < 3; i++) {
            clock.advance(ManualClock.HEARTBEAT);
            guard.primaryRoundTrip(clock.now());
        }

        assertThat(run.holdEnd()).isEqualTo(watchLast + SILENT + GRACE);
        clock.advance(Duration.ofNanos(watchLast + SILENT - 1 - clock.now()));
        assertThat(run.mayStep()).isTrue();
        clock.advance(Duration.ofNanos(1));
        assertThat(run.mayStep()).isFalse();
        assertThat(guard.mayClaim()).isFalse();

        guard.watchRoundTrip(clock.now());
        assertThat(run.mayStep()).as("the watch answering again lifts it").isTrue();
    }

    @Test
    void aNoticedLossEndsTheHoldAGraceLaterSoStepsStopAtOnce() {
        clock.sessionsAnswered();
        LocalRun run = clock.claim(1, "a");
        sessionsAnswerFor(Duration.ofSeconds(2));

        long noticed = clock.now();
        guard.watchLost();

        assertThat(run.holdEnd()).isEqualTo(noticed + GRACE);
        assertThat(run.mayStep()).isFalse();
        assertThat(guard.mayClaim()).isFalse();
    }

    @Test
    void theLossOfThePrimaryAloneIsNoLossWhileTheWatchHoldsTheLock() {
        clock.sessionsAnswered();
        LocalRun run = clock.claim(1, "a");
        guard.primaryLost();

        assertThat(run.mayStep()).isTrue();
        assertThat(guard.mayClaim()).as("no claim without a primary").isFalse();

        clock.advance(Duration.ofMillis(100));
        long noticed = clock.now();
        guard.watchLost();
        clock.advance(Duration.ofMillis(100));
        guard.primaryLost();
        assertThat(run.holdEnd()).as("counted from the first loss noticed").isEqualTo(noticed + GRACE);
    }

    @Test
    void aRenewalLiftsANoticedLossOnlyWhenSentAfterTheWatchHoldsTheLockAgain() {
        clock.sessionsAnswered();
        LocalRun run = clock.claim(1, "a");
        clock.advance(Duration.ofMillis(100));
        long noticed = clock.now();
        guard.watchLost();

        clock.advance(Duration.ofMillis(50));
        renewalReturned(clock.now(), run);
        assertThat(run.holdEnd()).as("the watch is not back").isEqualTo(noticed + GRACE);

        clock.advance(Duration.ofMillis(50));
        long sentBefore = clock.now();
        clock.advance(Duration.ofMillis(10));
        guard.watchOpened(clock.now());
        renewalReturned(sentBefore, run);
        assertThat(run.holdEnd()).as("sent before the watch held the lock").isEqualTo(noticed + GRACE);
        assertThat(guard.mayClaim()).isFalse();

        clock.advance(Duration.ofMillis(10));
        long sent = clock.now();
        renewalReturned(sent, run);
        assertThat(run.holdEnd())
                .isEqualTo(sent + SILENT + GRACE - Duration.ofMillis(10).toNanos());
        assertThat(run.mayStep()).isTrue();
        assertThat(guard.mayClaim()).isTrue();
    }

    @Test
    void anInstanceMayClaimOnlyWhileBothSessionsAnswerAndNoLossIsPending() {
        assertThat(guard.mayClaim()).as("no session yet").isFalse();
        guard.primaryRoundTrip(clock.now());
        assertThat(guard.mayClaim()).as("no watch yet").isFalse();
        guard.watchOpened(clock.now());
        assertThat(guard.mayClaim()).isTrue();

        clock.advance(SchedulerSettings.SILENT_SESSION_LOSS.minusNanos(1));
        assertThat(guard.mayClaim()).isTrue();
        clock.advance(Duration.ofNanos(1));
        assertThat(guard.mayClaim())
                .as("a run claimed now could not step: the sessions have been silent too long")
                .isFalse();

        clock.sessionsAnswered();
        assertThat(guard.mayClaim()).isTrue();
    }
}

package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The watchdog on a clock the test moves, looking once per period as its thread does: a handler
 * that ignores interruption is interrupted, then the process halts at least a quarter of the margin
 * before the end of the run's hold, whatever the phase of the watchdog's looks against that end.
 */
class RunWatchdogTest {

    private static final long MARGIN = ManualClock.HEARTBEAT.dividedBy(2).toNanos();

    private final ManualClock clock = new ManualClock();
    private final List<LocalRun> runs = new ArrayList<>();
    private final List<Long> halts = new ArrayList<>();
    private final RunWatchdog watchdog = new RunWatchdog(clock.guard, () -> runs, () -> halts.add(clock.now()));

    /** Moves the clock in steps of the watchdog's period (the sessions answering), looking after each. */
    private void lookEveryPeriodFor(Duration duration) {
        long period = watchdog.periodNanos();
        for (long left = duration.toNanos(); left > 0 && halts.isEmpty(); left -= period) {
            clock.advance(Duration.ofNanos(Math.min(left, period)));
            clock.sessionsAnswered();
            watchdog.checkOnce();
        }
    }

    @Test
    void theStatedMarginIsAQuarterOfTheGraceAndThePeriodATwentieth() {
        assertThat(watchdog.haltLeadNanos()).isEqualTo(Duration.ofMillis(125).toNanos());
        assertThat(watchdog.periodNanos()).isEqualTo(Duration.ofMillis(25).toNanos());
    }

    @Test
    void aHandlerThatIgnoresInterruptionIsInterruptedThenHaltedForAtLeastTheMarginBeforeItsHoldEnds() {
        long period = watchdog.periodNanos();
        // Every phase of the watchdog's looks against the end of the hold, in steps of a fifth period.
        for (int phase = 0; phase < 5; phase++) {
            ManualClock clock = new ManualClock();
            List<Long> halts = new ArrayList<>();
            List<LocalRun> runs = new ArrayList<>();
            RunWatchdog watchdog = new RunWatchdog(clock.guard, () -> runs, () -> halts.add(clock.now()));
            clock.advance(Duration.ofNanos(phase * period / 5));
            clock.sessionsAnswered();
            LocalRun deaf = clock.claim(1, "deaf");
            runs.add(deaf);
            long interruptedAt = Long.MIN_VALUE;

            while (halts.isEmpty() && clock.now() < deaf.claimSentAt + 2 * ManualClock.LEASE.toNanos()) {
                clock.advance(Duration.ofNanos(period));
                clock.sessionsAnswered();
                watchdog.checkOnce();
                if (interruptedAt == Long.MIN_VALUE && deaf.stopReason() != null) {
                    interruptedAt = clock.now();
                }
            }

            // The sessions answered all along: the lease ends the hold.
            long end = deaf.holdEnd();
            assertThat(end).isEqualTo(deaf.claimSentAt + ManualClock.LEASE.toNanos());
            assertThat(deaf.stopReason()).isEqualTo(LocalRun.StopReason.SELF_FENCED);
            assertThat(end - interruptedAt)
                    .as("interrupted from half the margin before the end (phase %d)", phase)
                    .isBetween(MARGIN / 2 - period, MARGIN / 2);
            assertThat(halts).as("halted once (phase %d)", phase).hasSize(1);
            assertThat(end - halts.getFirst())
                    .as("halted between the margin plus a period and the margin before the end (phase %d)", phase)
                    .isBetween(watchdog.haltLeadNanos(), watchdog.haltLeadNanos() + period);
        }
    }

    @Test
    void aHandlerThatReturnsOrWaitsInItsContextIsLeftAlone() {
        clock.sessionsAnswered();
        LocalRun returned = clock.claim(1, "done");
        returned.handlerReturned();
        LocalRun waiting = clock.claim(2, "waiting");
        runs.addAll(List.of(returned, waiting));
        clock.advance(ManualClock.LEASE.multipliedBy(2));

        CompletableFuture<Boolean> step = CompletableFuture.supplyAsync(waiting::mayContinue);
        await().atMost(Duration.ofSeconds(5)).until(() -> !waiting.executing());
        lookEveryPeriodFor(Duration.ofSeconds(1));

        assertThat(halts).isEmpty();
        assertThat(returned.stopReason()).isNull();
        assertThat(waiting.stopReason()).isNull();
        assertThat(step).isNotDone();
        waiting.stop(LocalRun.StopReason.SHUTDOWN);
        assertThat(step).succeedsWithin(Duration.ofSeconds(5)).isEqualTo(false);
    }

    @Test
    void afterAFreezePastTheHoldItInterruptsAtOnceAndHaltsAQuarterMarginLessAPeriodLater() {
        clock.sessionsAnswered();
        LocalRun deaf = clock.claim(1, "deaf");
        runs.add(deaf);

        clock.advance(ManualClock.LEASE.multipliedBy(3)); // SIGSTOP ... SIGCONT
        watchdog.checkOnce();
        assertThat(deaf.stopReason()).isEqualTo(LocalRun.StopReason.SELF_FENCED);
        assertThat(watchdog.returnGraceNanos()).isEqualTo(Duration.ofMillis(100).toNanos());
        // Looking every period, as its thread does: no halt while the handler may still return.
        long waited = 0;
        while (waited + watchdog.periodNanos() < watchdog.returnGraceNanos()) {
            clock.advance(Duration.ofNanos(watchdog.periodNanos()));
            waited += watchdog.periodNanos();
            watchdog.checkOnce();
            assertThat(halts)
                    .as("the handler gets M/4 - P to return (%d ms waited)", waited / 1_000_000)
                    .isEmpty();
        }
        clock.advance(Duration.ofNanos(watchdog.periodNanos()));
        watchdog.checkOnce();
        assertThat(halts).hasSize(1);
    }

    /**
     * Woken from a freeze on a loaded machine, this watchdog's own looks come late, and so do the
     * handler's turns on the CPU: the handler is given as many looks as on time (4), not only 100 ms
     * counted on the clock (SqlFencingIT's woken instance halted 61 ms after the interrupt was logged).
     */
    @Test
    void afterAFreezePastTheHoldLateLooksStillGiveTheHandlerItsTurns() {
        clock.sessionsAnswered();
        LocalRun deaf = clock.claim(1, "deaf");
        runs.add(deaf);
        clock.advance(ManualClock.LEASE.multipliedBy(3));
        watchdog.checkOnce();
        assertThat(deaf.stopReason()).isEqualTo(LocalRun.StopReason.SELF_FENCED);

        for (int look = 1; look < watchdog.graceLooks(); look++) {
            clock.advance(Duration.ofMillis(200)); // each look late by far more than the grace
            watchdog.checkOnce();
            assertThat(halts).as("look %d after the interrupt", look).isEmpty();
        }
        clock.advance(Duration.ofMillis(200));
        watchdog.checkOnce();
        assertThat(halts).hasSize(1);
    }

    @Test
    void aRunWhoseTaskARenewalLeftOutIsHaltedForWhileTheRenewedOneIsNot() {
        clock.sessionsAnswered();
        LocalRun kept = clock.claim(1, "kept");
        LocalRun takenOver = clock.claim(2, "taken");
        runs.addAll(List.of(kept, takenOver));
        lookEveryPeriodFor(Duration.ofSeconds(3));
        // The renewal returned only one of them, as the heartbeat does: the other's task was taken over.
        takenOver.stop(LocalRun.StopReason.FENCE_LOST);
        kept.renewed(clock.now());
        clock.guard.renewed(clock.now());

        lookEveryPeriodFor(ManualClock.LEASE);

        assertThat(halts).as("halted for the deaf run left out").hasSize(1);
        assertThat(takenOver.holdEnd() - halts.getFirst()).isGreaterThanOrEqualTo(watchdog.haltLeadNanos());
        assertThat(kept.stopReason()).isNull();
        assertThat(kept.mayStep()).isTrue();
    }
}

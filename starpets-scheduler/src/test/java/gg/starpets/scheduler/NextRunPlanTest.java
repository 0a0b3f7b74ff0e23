package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The next-run decision without a database or a clock: the instants are the test's, and so is the
 * randomness (0 and just below 1, its two ends).
 */
class NextRunPlanTest {

    private static final Instant NOW = Instant.parse("2026-03-02T10:30:00Z");
    private static final double LOWEST = 0.0;
    private static final double HIGHEST = Math.nextDown(1.0);

    private static final RetryPolicy THREE_ATTEMPTS_10S =
            new RetryPolicy(3, Duration.ofSeconds(10), 2.0, Duration.ofMinutes(5));
    private static final MisfirePolicy CATCH_UP_2H_LIMIT_3 =
            new MisfirePolicy(MisfirePolicy.Kind.CATCH_UP, Duration.ofMinutes(1), 3, Duration.ofHours(2));

    private static NextRunPlan plan(double random) {
        return new NextRunPlan(() -> random);
    }

    private static ClaimedRun run(
            String schedule,
            String cause,
            int attempt,
            Instant fireAt,
            RetryPolicy retry,
            MisfirePolicy misfire,
            int catchUps,
            Duration jitter) {
        return new ClaimedRun(
                1,
                "t",
                "step",
                schedule,
                "UTC",
                Map.of(),
                Duration.ofMinutes(10),
                1,
                1,
                attempt,
                fireAt,
                fireAt,
                cause,
                fireAt,
                retry,
                misfire,
                catchUps,
                jitter,
                "CONFIG",
                TaskDefinition.Overlap.SKIP,
                1,
                null);
    }

    /** A run of a cron task for {@code fireAt}, started at {@code startedAt}. */
    private static ClaimedRun started(String schedule, Instant fireAt, Instant startedAt, MisfirePolicy misfire) {
        return started(schedule, fireAt, startedAt, misfire, TaskDefinition.Overlap.SKIP);
    }

    private static ClaimedRun started(
            String schedule, Instant fireAt, Instant startedAt, MisfirePolicy misfire, TaskDefinition.Overlap overlap) {
        return new ClaimedRun(
                1,
                "t",
                "step",
                schedule,
                "UTC",
                Map.of(),
                Duration.ofHours(10),
                1,
                1,
                1,
                fireAt,
                startedAt,
                "SCHEDULE",
                fireAt,
                null,
                misfire,
                0,
                Duration.ZERO,
                "CONFIG",
                overlap,
                1,
                null);
    }

    private static MisfirePolicy skip(Duration threshold) {
        return new MisfirePolicy(MisfirePolicy.Kind.SKIP, threshold, 10, Duration.ofHours(1));
    }

    private static List<MissedSlots> missed(ClaimedRun run, NextRun next) {
        return NextRunPlan.missed(run, next, Schedule.parse(run.schedule(), ZoneOffset.UTC), NOW);
    }

    private static ClaimedRun retrying(String schedule, int attempt) {
        return run(schedule, "SCHEDULE", attempt, NOW, THREE_ATTEMPTS_10S, MisfirePolicy.DEFAULT, 0, Duration.ZERO);
    }

    private static NextRun after(NextRunPlan plan, ClaimedRun run, RunStatus status) {
        return after(plan, run, status, null);
    }

    private static NextRun after(NextRunPlan plan, ClaimedRun run, RunStatus status, LocalRun.StopReason reason) {
        return plan.afterRun(run, status, reason, () -> Schedule.parse(run.schedule(), ZoneOffset.UTC), NOW);
    }

    @Test
    void aFailedRunWithAttemptsLeftIsRetriedAfterItsBackOffSpreadByATenthEitherWay() {
        ClaimedRun failed = retrying("1h", 1);

        NextRun earliest = after(plan(LOWEST), failed, RunStatus.FAILED);
        NextRun latest = after(plan(HIGHEST), failed, RunStatus.TIMED_OUT);

        assertThat(earliest.cause()).isEqualTo(RunCause.RETRY);
        assertThat(earliest.attempt()).isEqualTo(2);
        assertThat(earliest.fireAt()).as("still for the time it ran for").isEqualTo(NOW);
        assertThat(earliest.next()).isEqualTo(NOW.plusSeconds(9));
        assertThat(latest.next()).isBetween(NOW.plusMillis(10_999), NOW.plusSeconds(11));
        assertThat(after(plan(LOWEST), retrying("1h", 2), RunStatus.FAILED).next())
                .as("the back-off grows with the attempt")
                .isEqualTo(NOW.plusSeconds(18));
    }

    /** A one-off run (cause MANUAL) of a task whose schedule is a minute: the schedule plays no part. */
    private static ClaimedRun oneOff(int attempt) {
        return run("1m", "MANUAL", attempt, NOW, THREE_ATTEMPTS_10S, MisfirePolicy.DEFAULT, 0, Duration.ZERO);
    }

    @Test
    void aFailedOneOffRunWithAttemptsLeftIsAskedForAgainAfterItsBackOffAsTheNextAttempt() {
        NextRun earliest = plan(LOWEST).afterOneOffRun(oneOff(1), RunStatus.FAILED, null, NOW);
        NextRun latest = plan(HIGHEST).afterOneOffRun(oneOff(2), RunStatus.TIMED_OUT, null, NOW);

        assertThat(earliest.cause()).isEqualTo(RunCause.MANUAL);
        assertThat(earliest.attempt()).isEqualTo(2);
        assertThat(earliest.dueNow()).isFalse();
        assertThat(earliest.next())
                .as("10 s less a tenth, past the schedule's next minute or not")
                .isEqualTo(NOW.plusSeconds(9));
        assertThat(latest.attempt()).isEqualTo(3);
        assertThat(latest.next()).isBetween(NOW.plusMillis(21_999), NOW.plusSeconds(22));
    }

    @Test
    void aOneOffRunThatSucceededOrHasNoAttemptLeftIsNotAskedForAgain() {
        assertThat(plan(LOWEST).afterOneOffRun(oneOff(1), RunStatus.SUCCEEDED, null, NOW))
                .isNull();
        assertThat(plan(LOWEST).afterOneOffRun(oneOff(3), RunStatus.FAILED, null, NOW))
                .isNull();
    }

    @Test
    void aOneOffRunStoppedByItsOwnInstanceIsDueAtOnceAsTheSameAttempt() {
        for (LocalRun.StopReason reason : List.of(LocalRun.StopReason.SHUTDOWN, LocalRun.StopReason.SELF_FENCED)) {
            NextRun next = plan(HIGHEST).afterOneOffRun(oneOff(2), RunStatus.INTERRUPTED, reason, NOW);
            assertThat(next.dueNow()).as(reason.name()).isTrue();
            assertThat(next.cause()).isEqualTo(RunCause.MANUAL);
            assertThat(next.attempt()).isEqualTo(2);
        }
    }

    @Test
    void aRetryIsNeverPastTheNextRegularTime() {
        // The schedule's next time is 15 s away; the third attempt's back-off is 40 s.
        NextRun next = after(plan(LOWEST), retrying("15s", 2), RunStatus.FAILED);
        assertThat(next.cause()).isEqualTo(RunCause.SCHEDULE);
        assertThat(next.next()).isEqualTo(NOW.plusSeconds(15));
        assertThat(next.attempt()).isEqualTo(1);

        // At the edge: 10 s less a tenth is 9 s; a regular time 9 s away wins, one a moment later does not.
        assertThat(after(plan(LOWEST), retrying("9s", 1), RunStatus.FAILED).cause())
                .isEqualTo(RunCause.SCHEDULE);
        assertThat(after(plan(LOWEST), retrying("9001ms", 1), RunStatus.FAILED).cause())
                .isEqualTo(RunCause.RETRY);
    }

    @Test
    void noRetryWhenTheRunSucceededOrNoAttemptIsLeft() {
        assertThat(after(plan(LOWEST), retrying("1h", 1), RunStatus.SUCCEEDED).cause())
                .isEqualTo(RunCause.SCHEDULE);
        assertThat(after(plan(LOWEST), retrying("1h", 1), RunStatus.CANCELLED).cause())
                .isEqualTo(RunCause.SCHEDULE);
        NextRun lastAttempt = after(plan(LOWEST), retrying("1h", 3), RunStatus.FAILED);
        assertThat(lastAttempt.cause()).isEqualTo(RunCause.SCHEDULE);
        assertThat(lastAttempt.next()).isEqualTo(NOW.plus(Duration.ofHours(1)));
    }

    @Test
    void aRunCutShortByThisInstanceIsDueAtOnceWithTheSameCauseAndAttempt() {
        ClaimedRun retry = run("1h", "RETRY", 2, NOW, THREE_ATTEMPTS_10S, MisfirePolicy.DEFAULT, 0, Duration.ZERO);
        for (LocalRun.StopReason reason :
                new LocalRun.StopReason[] {LocalRun.StopReason.SHUTDOWN, LocalRun.StopReason.SELF_FENCED}) {
            assertThat(after(plan(LOWEST), retry, RunStatus.INTERRUPTED, reason))
                    .isEqualTo(NextRun.now(RunCause.RETRY, 2));
        }
        assertThat(after(plan(LOWEST), retry, RunStatus.CANCELLED, LocalRun.StopReason.CANCELLED)
                        .dueNow())
                .as("a cancel is no hand-back")
                .isFalse();
    }

    @Test
    void aCronTaskCatchesUpTheTimesItMissedWithinItsWindowUpToItsLimit() {
        // Hourly; the run was for 07:00, now is 10:30: 08:00 is 2 h 30 min ago, 09:00 1 h 30 min ago.
        String hourly = "0 * * * *";
        Instant seven = Instant.parse("2026-03-02T07:00:00Z");
        Instant eight = Instant.parse("2026-03-02T08:00:00Z");
        Instant nine = Instant.parse("2026-03-02T09:00:00Z");

        NextRun outsideWindow = after(
                plan(LOWEST),
                run(hourly, "SCHEDULE", 1, seven, null, CATCH_UP_2H_LIMIT_3, 0, Duration.ZERO),
                RunStatus.SUCCEEDED);
        assertThat(outsideWindow.cause())
                .as("08:00 was missed by more than the window")
                .isEqualTo(RunCause.SCHEDULE);
        assertThat(outsideWindow.next()).isEqualTo(Instant.parse("2026-03-02T11:00:00Z"));

        NextRun inWindow = after(
                plan(LOWEST),
                run(hourly, "CATCH_UP", 1, eight, null, CATCH_UP_2H_LIMIT_3, 1, Duration.ZERO),
                RunStatus.SUCCEEDED);
        assertThat(inWindow).isEqualTo(new NextRun(nine, false, nine, RunCause.CATCH_UP, 1, 2));

        NextRun atLimit = after(
                plan(LOWEST),
                run(hourly, "CATCH_UP", 1, eight, null, CATCH_UP_2H_LIMIT_3, 3, Duration.ZERO),
                RunStatus.SUCCEEDED);
        assertThat(atLimit.cause()).as("three catch-ups in a row").isEqualTo(RunCause.SCHEDULE);
        assertThat(atLimit.catchUps()).isZero();

        NextRun interval = after(
                plan(LOWEST),
                run("1h", "SCHEDULE", 1, eight, null, CATCH_UP_2H_LIMIT_3, 0, Duration.ZERO),
                RunStatus.SUCCEEDED);
        assertThat(interval.cause()).as("only a cron has times to catch up").isEqualTo(RunCause.SCHEDULE);
    }

    @Test
    void aRetryComesBeforeACatchUpAndKeepsTheCatchUpsSoFar() {
        Instant eight = Instant.parse("2026-03-02T08:00:00Z");
        NextRun next = after(
                plan(LOWEST),
                run("0 * * * *", "CATCH_UP", 1, eight, THREE_ATTEMPTS_10S, CATCH_UP_2H_LIMIT_3, 1, Duration.ZERO),
                RunStatus.FAILED);

        assertThat(next).isEqualTo(new NextRun(NOW.plusSeconds(9), false, eight, RunCause.RETRY, 2, 1));
    }

    @Test
    void jitterDelaysTheRegularTimeByBetweenZeroAndAllOfIt() {
        ClaimedRun jittered = run("1h", "SCHEDULE", 1, NOW, null, MisfirePolicy.DEFAULT, 0, Duration.ofMinutes(10));
        Instant regular = NOW.plus(Duration.ofHours(1));

        NextRun least = after(plan(LOWEST), jittered, RunStatus.SUCCEEDED);
        NextRun most = after(plan(HIGHEST), jittered, RunStatus.SUCCEEDED);

        assertThat(least.next()).isEqualTo(regular);
        assertThat(most.next()).isBetween(regular.plus(Duration.ofMillis(599_999)), regular.plusSeconds(600));
        assertThat(most.fireAt()).as("the time it runs for is the schedule's").isEqualTo(regular);
        assertThat(after(plan(0.5), jittered, RunStatus.SUCCEEDED).next()).isEqualTo(regular.plusSeconds(300));
    }

    private static TaskDefinition definition(String schedule) {
        return TaskDefinition.of("first", "noop", schedule, "UTC", Duration.ofMinutes(1), true, Map.of());
    }

    @Test
    void aNewCronTaskRunsFirstAtItsNextMatchingTimeAndANewIntervalTaskAtOnce() {
        Instant now = Instant.parse("2026-12-06T10:15:30Z");
        assertThat(NextRunPlan.firstRun(definition("0 3 * * *"), now))
                .as("a daily 03:00 task deployed at 10:15 waits for 03:00")
                .isEqualTo(Instant.parse("2026-12-07T03:00:00Z"));
        assertThat(NextRunPlan.firstRun(definition("* * * * * *"), now)).isEqualTo(now.plusSeconds(1));
        assertThat(NextRunPlan.firstRun(definition("10s"), now)).isEqualTo(now);
    }

    @Test
    void aStartAtOverridesTheFirstRunOfCronAndIntervalAndIsAtOnceWhenItHasPassed() {
        Instant now = Instant.parse("2026-12-06T10:15:30Z");
        Instant later = Instant.parse("2026-12-06T12:00:00Z");
        assertThat(NextRunPlan.firstRun(definition("0 3 * * *").withStartAt(later), now))
                .isEqualTo(later);
        assertThat(NextRunPlan.firstRun(definition("10s").withStartAt(later), now))
                .isEqualTo(later);
        assertThat(NextRunPlan.firstRun(definition("0 3 * * *").withStartAt(now.minusSeconds(60)), now))
                .isEqualTo(now);
    }

    @Test
    void aRescheduledTaskRunsAtItsNewScheduleNextTimeNeverAtOnceUnlessGivenAStartAtToCome() {
        Instant now = Instant.parse("2026-12-06T10:15:30Z");
        assertThat(NextRunPlan.afterScheduleChange(definition("0 3 * * *"), now))
                .isEqualTo(Instant.parse("2026-12-07T03:00:00Z"));
        assertThat(NextRunPlan.afterScheduleChange(definition("10s"), now)).isEqualTo(now.plusSeconds(10));
        Instant later = Instant.parse("2026-12-06T12:00:00Z");
        assertThat(NextRunPlan.afterScheduleChange(definition("10s").withStartAt(later), now))
                .isEqualTo(later);
        assertThat(NextRunPlan.afterScheduleChange(definition("10s").withStartAt(now.minusSeconds(1)), now))
                .as("a start-at that has passed was the first run's")
                .isEqualTo(now.plusSeconds(10));
    }

    @Test
    void aScheduleThatCannotBeComputedGivesNoNextRun() {
        ClaimedRun broken = run("not a schedule", "SCHEDULE", 1, NOW, null, MisfirePolicy.DEFAULT, 0, Duration.ZERO);

        assertThat(after(plan(LOWEST), broken, RunStatus.SUCCEEDED)).isEqualTo(NextRun.scheduled(null));
        assertThat(NextRunPlan.nextOrNull("not a schedule", "UTC", NOW)).isNull();
        assertThat(NextRunPlan.nextOrNull("1h", "Not/AZone", NOW)).isNull();
        assertThat(NextRunPlan.nextOrNull("0 * * * *", "UTC", NOW)).isEqualTo(Instant.parse("2026-03-02T11:00:00Z"));
    }

    @Test
    void onlyARunPlannedForTheScheduleFollowsAScheduleEditedWhileItRan() {
        NextRun scheduled = NextRun.scheduled(NOW);
        assertThat(NextRunPlan.followsEditedSchedule(scheduled, "1h", "UTC", "2h", "UTC"))
                .isTrue();
        assertThat(NextRunPlan.followsEditedSchedule(scheduled, "0 3 * * *", "UTC", "0 3 * * *", "Europe/Berlin"))
                .isTrue();
        assertThat(NextRunPlan.followsEditedSchedule(scheduled, "1h", "UTC", "1h", "UTC"))
                .as("unchanged")
                .isFalse();
        assertThat(NextRunPlan.followsEditedSchedule(
                        new NextRun(NOW, false, NOW, RunCause.RETRY, 2, 0), "1h", "UTC", "2h", "UTC"))
                .as("a pending retry keeps its time")
                .isFalse();
        assertThat(NextRunPlan.followsEditedSchedule(
                        new NextRun(NOW, false, NOW, RunCause.CATCH_UP, 1, 1), "1h", "UTC", "2h", "UTC"))
                .isFalse();
        assertThat(NextRunPlan.followsEditedSchedule(NextRun.now(RunCause.SCHEDULE, 1), "1h", "UTC", "2h", "UTC"))
                .as("due at once")
                .isFalse();
    }

    private static final String HOURLY = "0 * * * *";
    private static final Instant SEVEN = Instant.parse("2026-03-02T07:00:00Z");
    private static final Instant EIGHT = Instant.parse("2026-03-02T08:00:00Z");
    private static final Instant NINE = Instant.parse("2026-03-02T09:00:00Z");
    private static final Instant TEN = Instant.parse("2026-03-02T10:00:00Z");

    @Test
    void runOnceRunsTheSlotsThatCameDueWhileTheRunOverranOnceLateForTheFirstOfThem() {
        // The run for 07:00 ran until 10:30: 08:00, 09:00 and 10:00 came due meanwhile.
        ClaimedRun overran = started(HOURLY, SEVEN, SEVEN, MisfirePolicy.DEFAULT);

        NextRun next = after(plan(HIGHEST), overran, RunStatus.SUCCEEDED);

        assertThat(next).isEqualTo(new NextRun(EIGHT, false, EIGHT, RunCause.CATCH_UP, 1, 0));
        assertThat(missed(overran, next)).as("one run stands for all of them").isEmpty();
    }

    @Test
    void runOnceDoesNotRunAgainForTheSlotsItsOwnLateStartStoodFor() {
        // Down from 07:00 to 10:00: the late run started at 10:00:05 stood for 08:00 to 10:00.
        ClaimedRun late = started(HOURLY, SEVEN, TEN.plusSeconds(5), MisfirePolicy.DEFAULT);
        assertThat(after(plan(LOWEST), late, RunStatus.SUCCEEDED))
                .isEqualTo(NextRun.scheduled(Instant.parse("2026-03-02T11:00:00Z")));
        // Started at 09:59: 10:00 came due while it ran.
        ClaimedRun overLate = started(HOURLY, SEVEN, TEN.minusSeconds(60), MisfirePolicy.DEFAULT);
        assertThat(after(plan(LOWEST), overLate, RunStatus.SUCCEEDED).next()).isEqualTo(TEN);
    }

    @Test
    void aSlotDueAlreadyComesBeforeARetryAsTheNextRegularTimeDoes() {
        ClaimedRun failed = new ClaimedRun(
                1,
                "t",
                "step",
                HOURLY,
                "UTC",
                Map.of(),
                Duration.ofHours(10),
                1,
                1,
                1,
                SEVEN,
                SEVEN,
                "SCHEDULE",
                SEVEN,
                THREE_ATTEMPTS_10S,
                MisfirePolicy.DEFAULT,
                0,
                Duration.ZERO,
                "CONFIG",
                TaskDefinition.Overlap.SKIP,
                1,
                null);
        assertThat(after(plan(LOWEST), failed, RunStatus.FAILED))
                .isEqualTo(new NextRun(EIGHT, false, EIGHT, RunCause.CATCH_UP, 1, 0));
    }

    @Test
    void skipRecordsTheSlotsThatCameDueWhileTheRunOverranAndRunsTheLastOnlyWithinItsThreshold() {
        ClaimedRun overran = started(HOURLY, SEVEN, SEVEN, skip(Duration.ofMinutes(1)));
        NextRun next = after(plan(LOWEST), overran, RunStatus.SUCCEEDED);
        assertThat(next).isEqualTo(NextRun.scheduled(Instant.parse("2026-03-02T11:00:00Z")));
        assertThat(missed(overran, next)).singleElement().satisfies(m -> {
            assertThat(m.slots()).containsExactly(EIGHT, NINE, TEN);
            assertThat(m.reason()).isEqualTo("overlap: run 1 was still running");
            assertThat(m.kind()).isEqualTo("overlap");
        });

        // 10:00 was missed by 30 minutes, within a threshold of 40: it runs, late; 08:00 and 09:00 do not.
        ClaimedRun within = started(HOURLY, SEVEN, SEVEN, skip(Duration.ofMinutes(40)));
        NextRun late = after(plan(LOWEST), within, RunStatus.SUCCEEDED);
        assertThat(late).isEqualTo(new NextRun(TEN, false, TEN, RunCause.SCHEDULE, 1, 0));
        assertThat(missed(within, late))
                .singleElement()
                .satisfies(m -> assertThat(m.slots()).containsExactly(EIGHT, NINE));
    }

    @Test
    void skipTellsTheSlotsMissedBeforeALateStartFromThoseDueWhileTheRunWasInProgress() {
        ClaimedRun late = started(HOURLY, SEVEN, EIGHT.plusSeconds(1800), skip(Duration.ofMinutes(1)));
        List<MissedSlots> missed = missed(late, after(plan(LOWEST), late, RunStatus.SUCCEEDED));
        assertThat(missed).hasSize(2);
        assertThat(missed.get(0).slots()).containsExactly(EIGHT);
        assertThat(missed.get(0).kind()).isEqualTo("misfire");
        assertThat(missed.get(1).slots()).containsExactly(NINE, TEN);
        assertThat(missed.get(1).kind()).isEqualTo("overlap");
    }

    @Test
    void noSlotIsMissedByAFixedDelayNorByARunOnTime() {
        ClaimedRun interval = started("10m", SEVEN, SEVEN, skip(Duration.ofMinutes(1)));
        assertThat(missed(interval, after(plan(LOWEST), interval, RunStatus.SUCCEEDED)))
                .isEmpty();
        ClaimedRun onTime = started(HOURLY, TEN, TEN, skip(Duration.ofMinutes(1)));
        NextRun next = after(plan(LOWEST), onTime, RunStatus.SUCCEEDED);
        assertThat(next).isEqualTo(NextRun.scheduled(Instant.parse("2026-03-02T11:00:00Z")));
        assertThat(missed(onTime, next)).isEmpty();
    }

    @Test
    void aLongDowntimeIsRecordedInAtMostAHundredRowsAndOneThatSaysHowManyMore() {
        Schedule everySecond = Schedule.parse("* * * * * *", ZoneOffset.UTC);
        MissedSlots hundredFifty = MissedSlots.startingAt(everySecond, TEN, TEN.plusSeconds(149), "misfire: x");
        assertThat(hundredFifty.count()).isEqualTo(150);
        assertThat(hundredFifty.rows()).hasSize(MissedSlots.ROWS + 1);
        assertThat(hundredFifty.rows().getLast())
                .isEqualTo(new MissedSlots.Row(
                        TEN.plusSeconds(149),
                        "misfire: x; this row stands for 50 slots from 2026-03-02T10:01:40Z to 2026-03-02T10:02:29Z"
                                + " (at most 100 are recorded one by one)"));

        MissedSlots day = MissedSlots.startingAt(everySecond, TEN, TEN.plus(Duration.ofDays(1)), "misfire: x");
        assertThat(day.rows()).hasSize(MissedSlots.ROWS + 1);
        assertThat(day.rows().getLast().error()).contains("stands for at least 900 slots");
    }

    @Test
    void bufferOneAndReplaceRunTheFirstSlotDueWhileRunningOnceWhateverTheMisfirePolicy() {
        MisfirePolicy catchUp =
                new MisfirePolicy(MisfirePolicy.Kind.CATCH_UP, Duration.ofMinutes(1), 10, Duration.ofHours(5));
        for (TaskDefinition.Overlap overlap :
                new TaskDefinition.Overlap[] {TaskDefinition.Overlap.BUFFER_ONE, TaskDefinition.Overlap.REPLACE}) {
            for (MisfirePolicy misfire : List.of(skip(Duration.ofMinutes(1)), catchUp)) {
                ClaimedRun overran = started(HOURLY, SEVEN, SEVEN, misfire, overlap);
                NextRun next = after(plan(LOWEST), overran, RunStatus.CANCELLED, LocalRun.StopReason.CANCELLED);
                assertThat(next)
                        .as("%s with %s", overlap, misfire.kind())
                        .isEqualTo(new NextRun(EIGHT, false, EIGHT, RunCause.CATCH_UP, 1, 0));
                assertThat(missed(overran, next)).as("one run stands for them").isEmpty();
            }
            ClaimedRun onTime = started(HOURLY, TEN, TEN, skip(Duration.ofMinutes(1)), overlap);
            assertThat(after(plan(LOWEST), onTime, RunStatus.SUCCEEDED))
                    .isEqualTo(NextRun.scheduled(Instant.parse("2026-03-02T11:00:00Z")));
        }
        assertThat(NextRunPlan.dueWhileRunning(Schedule.parse(HOURLY, ZoneOffset.UTC), SEVEN, SEVEN, NOW))
                .as("what REPLACE cancels a run for")
                .isEqualTo(EIGHT);
        assertThat(NextRunPlan.dueWhileRunning(Schedule.parse(HOURLY, ZoneOffset.UTC), TEN, TEN, NOW))
                .isNull();
    }

    @Test
    void overlapIsReadInAnyCaseAndAnUnknownValueIsRefusedNamingTheTask() {
        assertThat(TaskDefinition.Overlap.of("t", null)).isEqualTo(TaskDefinition.Overlap.SKIP);
        assertThat(TaskDefinition.Overlap.of("t", "buffer_one")).isEqualTo(TaskDefinition.Overlap.BUFFER_ONE);
        assertThat(TaskDefinition.Overlap.of("t", "allow")).isEqualTo(TaskDefinition.Overlap.ALLOW);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> TaskDefinition.Overlap.of("nightly", "QUEUE"))
                .hasMessage("Task 'nightly': overlap must be SKIP, BUFFER_ONE, REPLACE or ALLOW, not 'QUEUE'");
    }

    @Test
    void overlapAllowNeedsMaxConcurrentWhichNoOtherPolicyTakes() {
        TaskDefinition d = TaskDefinition.of("fan", "noop", "1m", "UTC", Duration.ofMinutes(1), true, null);
        assertThat(d.withOverlap(TaskDefinition.Overlap.ALLOW, 3).maxConcurrent())
                .isEqualTo(3);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> d.withOverlap(TaskDefinition.Overlap.ALLOW, null))
                .hasMessage("Task 'fan': overlap ALLOW needs max-concurrent, the most runs of the task at once (1 to"
                        + " 1000)");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> d.withOverlap(TaskDefinition.Overlap.ALLOW, 0))
                .hasMessage("Task 'fan': max-concurrent must be between 1 and 1000, not 0");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> d.withOverlap(TaskDefinition.Overlap.SKIP, 2))
                .hasMessage("Task 'fan': max-concurrent is for overlap ALLOW only (this task's overlap is SKIP)");
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> d.withOverlap(TaskDefinition.Overlap.ALLOW, 2).withConcurrencyGroup("partner"))
                .hasMessageStartingWith("Task 'fan': overlap ALLOW does not go with a concurrency group");
        assertThat(d.withOverlap(TaskDefinition.Overlap.ALLOW, 2)
                        .withOverlap(TaskDefinition.Overlap.SKIP)
                        .maxConcurrent())
                .as("another policy leaves max-concurrent behind")
                .isNull();
    }
}

package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * The fair share without a database: the quota's arithmetic ({@link Share#quota()}), and,
 * on a clock the test moves, how long a claim turn keeps this instance counted among those that share
 * the work ({@code instances.claiming}, written by the heartbeat from {@link InstanceSession#claiming()}).
 */
class ShareQuotaTest {

    private static int quota(long activeOrDue, long liveInstances, long rank, long runningHere) {
        return new Share(activeOrDue, liveInstances, rank, runningHere, 0, null).quota();
    }

    @Test
    void twelveTasksOnFiveInstancesGiveThreeThreeTwoTwoTwoByRank() {
        assertThat(LongStream.range(0, 5)
                        .mapToInt(rank -> quota(12, 5, rank, 0))
                        .toArray())
                .containsExactly(3, 3, 2, 2, 2);
    }

    @Test
    void theSharesAddUpToTheWorkWhateverTheNumbers() {
        for (long work = 0; work <= 40; work++) {
            for (long instances = 1; instances <= 7; instances++) {
                long total = 0;
                for (long rank = 0; rank < instances; rank++) {
                    int share = quota(work, instances, rank, 0);
                    assertThat(share).isBetween((int) (work / instances), (int) (work / instances) + 1);
                    total += share;
                }
                assertThat(total)
                        .as("%d tasks on %d instances", work, instances)
                        .isEqualTo(work);
            }
        }
    }

    @Test
    void whatAnInstanceRunsOrJustClaimedCountsInItsShareAndTheQuotaIsNeverNegative() {
        assertThat(quota(12, 5, 0, 1)).isEqualTo(2);
        assertThat(quota(12, 5, 0, 3)).isZero();
        assertThat(quota(12, 5, 4, 5))
                .as("more than its share, from before others joined")
                .isZero();
    }

    @Test
    void withNoOtherInstanceCountedItTakesEverything() {
        assertThat(quota(7, 1, 0, 0)).isEqualTo(7);
        assertThat(quota(7, 0, 0, 2)).as("no live instance read: itself").isEqualTo(5);
    }

    /** A claimer with no database: these tests look only at its claim turns, which end before any statement. */
    private static Claimer claimerWithoutDatabase(ManualClock clock, InstanceSession session) {
        return new Claimer(
                clock.settings,
                null,
                null,
                null,
                clock.guard,
                session,
                new Capacity(0, List::of),
                () -> {},
                SchedulerEvents.NONE);
    }

    @Test
    void aClaimTurnCountsTheInstanceAsClaimingForItsLongestSleepPlusAHeartbeatWhileItsHoldIsSure() throws SQLException {
        ManualClock clock = new ManualClock();
        SchedulerSettings settings = clock.settings;
        InstanceSession session = new InstanceSession(null, null, 1, settings.lease(), clock.guard);
        Claimer claimer = claimerWithoutDatabase(clock, session);
        // Its longest sleep is the poll (5 s, longer than the heartbeat), plus a heartbeat for the statements.
        Duration turn = settings.poll().plus(settings.heartbeat());

        assertThat(claimer.runOnce())
                .as("no session yet: it may not claim, and the database is not asked")
                .isEqualTo(Claimer.Outcome.NOT_NOW);
        assertThat(session.claiming()).isFalse();

        clock.sessionsAnswered();
        assertThat(session.claiming())
                .as("the turn it came for counts once its hold is sure")
                .isTrue();

        clock.advance(turn.minusNanos(1));
        clock.sessionsAnswered();
        assertThat(session.claiming()).isTrue();
        clock.advance(Duration.ofNanos(1));
        clock.sessionsAnswered();
        assertThat(session.claiming())
                .as("its claim loop did not come back within the turn: others take its share")
                .isFalse();

        clock.guard.watchLost();
        assertThat(claimer.runOnce()).isEqualTo(Claimer.Outcome.NOT_NOW);
        assertThat(session.claiming())
                .as("a claim turn while its hold is unsure")
                .isFalse();
    }

    @Test
    void anInstanceCountsAsClaimingFromItsStartForOneTurnBeforeItsClaimLoopHasComeOnce() {
        ManualClock clock = new ManualClock();
        SchedulerSettings settings = clock.settings;
        InstanceSession session = new InstanceSession(null, null, 1, settings.lease(), clock.guard);
        Claimer claimer = claimerWithoutDatabase(clock, session);
        clock.sessionsAnswered();
        assertThat(session.claiming()).as("before the start: no turn expected").isFalse();

        claimer.starting();
        assertThat(session.claiming())
                .as("registered as claiming, so its first heartbeat says so too")
                .isTrue();
        clock.advance(settings.poll().plus(settings.heartbeat()));
        clock.sessionsAnswered();
        assertThat(session.claiming())
                .as("its claim loop never came: others take its share")
                .isFalse();
    }
}

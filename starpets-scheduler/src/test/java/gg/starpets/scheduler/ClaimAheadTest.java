package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.RunsAlongside;
import gg.starpets.support.Timing;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A task is claimed a little before it is due ({@link SchedulerSettings#claimAhead()}; by default, only once
 * due) and its handler starts on the instance's timer at the due time, never before. Witnesses: the test's own connection,
 * which watches the runs' rows appear as the database sees them, and the handler's entry on this host's
 * clock (the database's host).
 */
@RunsAlongside
class ClaimAheadTest {

    /** Claimed runs seen before their due time that make the claim ahead proven. */
    private static final int SEEN_AHEAD = 3;

    private SchedulerCluster cluster;

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    @Test
    void aTaskIsClaimedBeforeItIsDueAndItsHandlerStartsNoEarlierThanItsDueTime() throws SQLException {
        // Far more than the witness's look every few milliseconds.
        SchedulerSettings settings = SchedulerCluster.settings("instance-a").toBuilder()
                .claimAhead(Duration.ofMillis(100))
                .build();

        Witnessed runs = run(settings, seen -> seen.ahead().size() >= SEEN_AHEAD);

        assertThat(runs.ahead()).hasSizeGreaterThanOrEqualTo(SEEN_AHEAD);
        runs.assertNoneStartedEarly();
    }

    @Test
    void byDefaultATaskIsClaimedOnlyOnceDue() throws SQLException {
        SchedulerSettings settings = SchedulerCluster.settings("instance-a");
        assertThat(settings.claimAhead()).isZero();

        Witnessed runs = run(settings, seen -> seen.all().size() >= 2 * SEEN_AHEAD);

        assertThat(runs.ahead()).as("runs seen claimed before they were due").isEmpty();
        runs.assertNoneStartedEarly();
    }

    @Test
    void theClaimAheadIsAtMostHalfAHeartbeat() {
        SchedulerSettings.Builder settings = SchedulerCluster.settings("instance-a").toBuilder();

        assertThatThrownBy(() -> settings.claimAhead(
                                SchedulerCluster.HEARTBEAT.dividedBy(2).plusMillis(1))
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at most half a heartbeat");
        assertThatThrownBy(() -> settings.claimAhead(Duration.ofMillis(-1)).build())
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** The runs the witness saw, those of them it saw before their due time, and their handlers' entries. */
    private record Witnessed(Set<Long> all, Set<Long> ahead, Map<Long, Instant> entered, SchedulerCluster cluster) {

        /** No handler entered before its run's due time, nor was any start recorded before it. */
        void assertNoneStartedEarly() throws SQLException {
            try (Connection c = cluster.connection();
                    ResultSet rs = c.createStatement()
                            .executeQuery("select id, scheduled_for, started_at from task_runs order by id")) {
                int started = 0;
                while (rs.next()) {
                    Instant due = rs.getTimestamp(2).toInstant();
                    Instant handlerEntered = entered.get(rs.getLong(1));
                    // As recorded: a run claimed ahead records its due time as its start.
                    assertThat(rs.getTimestamp(3).toInstant()).isAfterOrEqualTo(due);
                    if (handlerEntered != null) {
                        started++;
                        assertThat(handlerEntered)
                                .as("run %d's handler entered at %s, due at %s", rs.getLong(1), handlerEntered, due)
                                .isAfterOrEqualTo(due);
                    }
                }
                assertThat(started).isGreaterThanOrEqualTo(SEEN_AHEAD);
            }
        }
    }

    /**
     * Runs a task due a second after each run's end (every run after the first is due at a time the claim loop
     * knows) on one instance, while the test's own connection watches the runs' rows appear, until
     * {@code enough}; then waits for the handlers of the runs seen.
     */
    private Witnessed run(SchedulerSettings settings, java.util.function.Predicate<Witnessed> enough)
            throws SQLException {
        Map<Long, Instant> entered = new ConcurrentHashMap<>();
        Scheduler scheduler = cluster.create(
                settings, Map.of("record", ctx -> entered.put(ctx.runId(), Instant.now())), cluster::connection);
        scheduler.syncTasks(List.of(
                TaskDefinition.of("every-second", "record", "1s", "UTC", Duration.ofMinutes(1), true, Map.of())));
        scheduler.start();

        Witnessed seen = new Witnessed(ConcurrentHashMap.newKeySet(), ConcurrentHashMap.newKeySet(), entered, cluster);
        try (Connection witness = cluster.connection()) {
            await().atMost(Timing.SOON).pollInterval(Duration.ofMillis(5)).until(() -> {
                try (ResultSet rs = witness.createStatement()
                        .executeQuery("select id, scheduled_for > clock_timestamp() from task_runs")) {
                    while (rs.next()) {
                        if (seen.all().add(rs.getLong(1)) && rs.getBoolean(2)) {
                            seen.ahead().add(rs.getLong(1));
                        }
                    }
                }
                return enough.test(seen);
            });
        }
        await().atMost(Timing.SOON).until(() -> entered.keySet().containsAll(seen.all()));
        return seen;
    }
}

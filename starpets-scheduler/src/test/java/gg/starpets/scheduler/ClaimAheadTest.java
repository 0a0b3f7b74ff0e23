package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
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
 * A task is claimed a little before it is due ({@link SchedulerSettings#claimAhead()}) and its handler
 * starts on the instance's timer at the due time, never before. Witnesses: the test's own connection,
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
        // A heartbeat of 1 s claims 100 ms ahead, far more than the witness's look every few milliseconds.
        SchedulerSettings settings = SchedulerCluster.settings("instance-a").toBuilder()
                .heartbeat(Duration.ofSeconds(1))
                .build();
        assertThat(settings.claimAhead()).isEqualTo(Duration.ofMillis(100));
        Map<Long, Instant> entered = new ConcurrentHashMap<>();
        Scheduler scheduler = cluster.create(
                settings, Map.of("record", ctx -> entered.put(ctx.runId(), Instant.now())), cluster::connection);
        // Due a second after each run's end: every run after the first is due at a time the claim loop knows.
        scheduler.syncTasks(List.of(
                TaskDefinition.of("every-second", "record", "1s", "UTC", Duration.ofMinutes(1), true, Map.of())));
        scheduler.start();

        Set<Long> seenAhead = ConcurrentHashMap.newKeySet();
        Set<Long> seen = ConcurrentHashMap.newKeySet();
        try (Connection witness = cluster.connection()) {
            await().atMost(Timing.SOON).pollInterval(Duration.ofMillis(5)).until(() -> {
                try (ResultSet rs = witness.createStatement()
                        .executeQuery("select id, scheduled_for > clock_timestamp() from task_runs")) {
                    while (rs.next()) {
                        if (seen.add(rs.getLong(1)) && rs.getBoolean(2)) {
                            seenAhead.add(rs.getLong(1));
                        }
                    }
                }
                return seenAhead.size() >= SEEN_AHEAD;
            });
        }
        await().atMost(Timing.SOON).until(() -> entered.keySet().containsAll(seenAhead));

        try (Connection c = cluster.connection();
                ResultSet rs = c.createStatement()
                        .executeQuery("select id, scheduled_for, started_at from task_runs order by id")) {
            int runs = 0;
            while (rs.next()) {
                Instant due = rs.getTimestamp(2).toInstant();
                Instant handlerEntered = entered.get(rs.getLong(1));
                // As recorded: a run claimed ahead records its due time as its start.
                assertThat(rs.getTimestamp(3).toInstant()).isAfterOrEqualTo(due);
                if (handlerEntered != null) {
                    runs++;
                    assertThat(handlerEntered)
                            .as("run %d's handler entered at %s, due at %s", rs.getLong(1), handlerEntered, due)
                            .isAfterOrEqualTo(due);
                }
            }
            assertThat(runs).isGreaterThanOrEqualTo(SEEN_AHEAD);
        }
    }
}

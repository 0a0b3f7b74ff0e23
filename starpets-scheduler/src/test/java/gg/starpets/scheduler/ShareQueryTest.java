package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the share query ({@link ShareRepository#share}) counts, on rows written as the scheduler would
 * leave them. Instance "i-1" (session 101) asks; "i-2" (session 102) is live; session 103 belongs to
 * no live instance.
 */
class ShareQueryTest {

    private static final long KEY = 101;
    private static final Duration LEASE = Duration.ofSeconds(10);
    private static final Duration WINDOW = Duration.ofSeconds(5);

    private HikariDataSource db;

    @BeforeEach
    void setUp() throws SQLException {
        db = TestPostgres.migratedDatabase(2);
        execute("insert into instances (id, host, version, session_key, started_at, heartbeat_at, state) values"
                + " ('i-1', 'h', 'v', 101, now(), now(), 'RUNNING'), ('i-2', 'h', 'v', 102, now(), now(), 'RUNNING')");
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    @Test
    void tasksNoClaimWouldTakeAreNeitherCountedNorWaitedFor() throws SQLException {
        task("paused", "next_run_at = now() - interval '1 minute', paused_at = now()");
        task("quarantined", "next_run_at = now() - interval '1 minute', quarantined_at = now()");
        task("retired", "next_run_at = now() - interval '1 minute', retired_at = now()");
        task("disabled", "next_run_at = now() - interval '1 minute', enabled = false");
        task("skipped", "next_run_at = now() - interval '2 minutes', misfire_policy = 'SKIP'");
        task("paused-later", "next_run_at = now() + interval '1 minute', paused_at = now()");

        Share share = share();

        assertThat(share.activeOrDue()).as("active or due").isZero();
        assertThat(share.nextDueIn())
                .as("nothing a claim would take, now or later: the loop waits its poll")
                .isNull();
    }

    @Test
    void aPausedTaskAnOperatorTriggeredIsDue() throws SQLException {
        task("paused", "next_run_at = now(), paused_at = now(), next_cause = 'TRIGGER'");

        Share share = share();

        assertThat(share.activeOrDue()).isEqualTo(1);
        assertThat(share.nextDueIn()).isZero();
    }

    @Test
    void countsRunsHereAndOnLiveInstancesDueTasksAndClaimsOfAMomentAgo() throws SQLException {
        task("mine-1", owned(KEY, "i-1"));
        task("mine-2", owned(KEY, "i-1"));
        task("peers", owned(102, "i-2"));
        task("dead-owners", owned(103, "gone"));
        task("due-1", "next_run_at = now() - interval '1 second'");
        task("due-2", "next_run_at = now()");
        task("later", "next_run_at = now() + interval '30 seconds'");
        task(
                "just-ran-here",
                "next_run_at = now() + interval '1 hour', last_claimed_by = 101, last_claimed_at = now()");
        task(
                "just-ran-there",
                "next_run_at = now() + interval '1 hour', last_claimed_by = 102, last_claimed_at = now()");
        task(
                "ran-long-ago",
                "next_run_at = now() + interval '1 hour', last_claimed_by = 101,"
                        + " last_claimed_at = now() - interval '1 minute'");
        task("just-ran-due-again", "next_run_at = now(), last_claimed_by = 101, last_claimed_at = now()");

        Share share = share();

        assertThat(share.liveInstances()).isEqualTo(2);
        assertThat(share.rank()).isZero();
        // 4 owned, 3 due (one of them claimed a moment ago: due again, so counted once), 2 just ran.
        assertThat(share.activeOrDue()).as("active or due").isEqualTo(9);
        assertThat(share.runningHere()).as("running here").isEqualTo(3);
        assertThat(share.runningElsewhere()).as("running on live instances").isEqualTo(1);
        assertThat(share.nextDueIn()).isZero();
        assertThat(share.quota())
                .as("5 of 9 for the first of two, less the 3 it has")
                .isEqualTo(2);
    }

    @Test
    void nextDueInIsTheTimeToTheEarliestClaimableTask() throws SQLException {
        task("paused-sooner", "next_run_at = now() + interval '5 seconds', paused_at = now()");
        task("later", "next_run_at = now() + interval '40 seconds'");
        task("latest", "next_run_at = now() + interval '50 seconds'");

        Share share = share();

        assertThat(share.activeOrDue()).isZero();
        assertThat(share.nextDueIn()).isBetween(Duration.ofSeconds(30), Duration.ofSeconds(40));
    }

    private static String owned(long session, String instance) {
        return "owner_session = " + session + ", owner_instance = '" + instance + "', lease_until = now() + interval"
                + " '10 seconds', next_run_at = now() - interval '1 second'";
    }

    @Test
    void aTaskDueWithinTheClaimAheadCountsAsDueAndTheWaitEndsThatMuchEarlier() throws SQLException {
        task("soon", "next_run_at = now() + interval '2 seconds'");
        task("later", "next_run_at = now() + interval '40 seconds'");

        Share ahead = share(Duration.ofSeconds(3));
        Share notAhead = share(Duration.ZERO);

        assertThat(ahead.activeOrDue()).isEqualTo(1);
        assertThat(ahead.nextDueIn()).isZero();
        assertThat(notAhead.activeOrDue()).isZero();
        assertThat(notAhead.nextDueIn()).isBetween(Duration.ofMillis(1), Duration.ofSeconds(2));
        // Claimed 1 s ahead, the first can be claimed 1 s before it is due.
        assertThat(share(Duration.ofSeconds(1)).nextDueIn()).isBetween(Duration.ofMillis(1), Duration.ofSeconds(1));
    }

    private Share share() throws SQLException {
        return share(Duration.ZERO);
    }

    private Share share(Duration ahead) throws SQLException {
        try (Connection c = db.getConnection()) {
            return ShareRepository.share(c, "i-1", KEY, LEASE, WINDOW, ahead);
        }
    }

    /** A task due in an hour, then changed by {@code set}. */
    private void task(String name, String set) throws SQLException {
        execute("insert into tasks (name, handler, schedule, timeout_seconds, next_run_at) values ('" + name
                + "', 'sleep', '1h', 60, now() + interval '1 hour')");
        execute("update tasks set " + set + " where name = '" + name + "'");
    }

    private void execute(String sql) throws SQLException {
        try (Connection c = db.getConnection();
                var st = c.createStatement()) {
            st.execute(sql);
        }
    }
}

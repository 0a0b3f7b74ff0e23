package gg.starpets.chaos;

import static gg.starpets.chaos.ChaosCluster.micros;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gg.starpets.chaos.WitnessLog.Event;
import gg.starpets.support.RunsAlongside;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chaos suite's database faults and sql witness on a real PostgreSQL 17 (the embedded binaries):
 * a crash-restart, a standby promoted while its primary is stopped, and a statement of a sql task seen
 * running and committed.
 */
@RunsAlongside
class ChaosPostgresTest {

    private static ChaosPostgres postgres;

    @BeforeAll
    static void start() throws Exception {
        postgres = ChaosPostgres.start(SqlWitness::createSchema);
    }

    @AfterAll
    static void stop() {
        postgres.close();
    }

    private static Timestamp startTime(Connection c) throws SQLException {
        return one(c, "select pg_postmaster_start_time()").getTimestamp(1);
    }

    private static ResultSet one(Connection c, String sql) throws SQLException {
        ResultSet rs = c.createStatement().executeQuery(sql);
        rs.next();
        return rs;
    }

    @Test
    void aCrashRestartEndsEverySessionAndItsLocksButKeepsThePostmasterStartTime() throws Exception {
        Timestamp started;
        try (Connection victim = postgres.connect("victim");
                Connection bystander = postgres.connect("bystander")) {
            started = startTime(bystander);
            assertThat(one(bystander, "select pg_try_advisory_lock(18)").getBoolean(1))
                    .isTrue();
            long pid = one(victim, "select pg_backend_pid()").getLong(1);

            Duration down = postgres.crashRestart(pid);

            assertThat(down).isPositive();
            assertThatThrownBy(() -> one(bystander, "select 1"))
                    .as("every other session ended with it")
                    .isInstanceOf(SQLException.class);
        }
        try (Connection after = postgres.connect("after")) {
            assertThat(one(after, "select pg_try_advisory_lock(18)").getBoolean(1))
                    .as("the lock went with its session")
                    .isTrue();
            assertThat(startTime(after))
                    .as("no new postmaster: the start time does not tell a crash-restart")
                    .isEqualTo(started);
        }
    }

    @Test
    void aCommitAcknowledgedJustBeforeACrashRestartSurvivesIt() throws Exception {
        try (Connection c = postgres.connect("setup");
                Statement st = c.createStatement()) {
            st.execute("create table if not exists chaos_durability (n int primary key)");
            st.execute("truncate chaos_durability");
        }
        int rounds = 3;
        for (int n = 1; n <= rounds; n++) {
            try (Connection writer = postgres.connect("writer");
                    Connection victim = postgres.connect("victim")) {
                long pid = one(victim, "select pg_backend_pid()").getLong(1);
                writer.createStatement().execute("insert into chaos_durability values (" + n + ")");
                postgres.crashRestart(pid);
            }
        }
        try (Connection after = postgres.connect("after")) {
            assertThat(one(after, "select count(*) from chaos_durability").getLong(1))
                    .as("every insert acknowledged before its crash-restart (asynchronous commit would drop them)")
                    .isEqualTo(rounds);
        }
    }

    @Test
    void theServersLogSaysWhenEachBackendExited() throws Exception {
        long pid;
        long before;
        try (Connection ended = postgres.connect("ended");
                Connection killer = postgres.connect("killer")) {
            pid = one(ended, "select pg_backend_pid()").getLong(1);
            before = ChaosCluster.nowMicros();
            assertThat(one(killer, "select pg_terminate_backend(" + pid + ", 5000)")
                            .getBoolean(1))
                    .isTrue();
        }
        long after = ChaosCluster.nowMicros();

        assertThat(postgres.disconnections().getOrDefault(pid, List.of()))
                .as("one exit of that backend, rounded up to the millisecond")
                .anySatisfy(t -> assertThat(t).isBetween(before, after + 1_000));
    }

    @Test
    void aPromotedStandbyHasWhatWasCommittedTakesWritesAndKeepsTheStartTimeOfItsOwnPostmaster() throws Exception {
        try (Connection c = postgres.connect("before");
                Statement st = c.createStatement()) {
            st.execute("create table promoted (n int)");
            st.execute("insert into promoted values (1)");
        }
        postgres.prepareStandby();
        try (Connection c = postgres.connect("before");
                Statement st = c.createStatement()) {
            st.execute("insert into promoted values (2)"); // streamed, not in the base backup
        }
        int oldPort = postgres.port();
        long promotedAt = ChaosCluster.nowMicros();

        postgres.promote();

        assertThat(postgres.port()).isNotEqualTo(oldPort);
        assertThat(postgres.hasStandby()).isFalse();
        try (Connection c = postgres.connect("after");
                Statement st = c.createStatement()) {
            assertThat(one(c, "select pg_is_in_recovery()").getBoolean(1)).isFalse();
            assertThat(one(c, "select count(*) from promoted").getLong(1)).isEqualTo(2);
            st.execute("insert into promoted values (3)");
            assertThat(micros(startTime(c)))
                    .as("the standby's postmaster started before the promotion, and that is the start time")
                    .isLessThan(promotedAt);
        }
    }

    /**
     * Far longer than a fast restart takes, as PostgreSQL's own default (5 s) is: a promotion that did not
     * wait for the standby to stream again would surely come before it did.
     */
    private static final Duration SLOW_STANDBY_RETRY = Duration.ofSeconds(10);

    @Test
    void aPromotionRightAfterARestartWaitsForTheStandbyToStreamAndLosesNothingCommitted() throws Exception {
        try (ChaosPostgres slow = ChaosPostgres.start(c -> {}, SLOW_STANDBY_RETRY)) {
            slow.prepareStandby();
            try (Connection c = slow.connect("before");
                    Statement st = c.createStatement()) {
                st.execute("create table committed_before_promotion (n int)");
            }
            // The standby loses its primary and fails to reach it while it restarts: it tries again only later.
            slow.fastRestart();
            try (Connection c = slow.connect("between");
                    Statement st = c.createStatement()) {
                st.execute("insert into committed_before_promotion values (1)");
            }

            slow.promote();

            try (Connection c = slow.connect("after")) {
                assertThat(one(c, "select pg_is_in_recovery()").getBoolean(1)).isFalse();
                assertThat(one(c, "select count(*) from committed_before_promotion")
                                .getLong(1))
                        .as("what the primary committed after its restart, before the switchover")
                        .isEqualTo(1);
            }
        }
    }

    @Test
    void theSqlWitnessSeesATasksStatementRunningAndItsWorkCommitted(@TempDir Path dir) throws Exception {
        var database = new SqlWitness.Database() {
            @Override
            public Connection connect(String applicationName) throws SQLException {
                return postgres.connect(applicationName);
            }

            @Override
            public String instance(String application, int clientPort) {
                return application.equals("starpets-chaos-1") ? "chaos-1" : null;
            }

            @Override
            public long jvm(String instance, long backendStart) {
                return 4711;
            }
        };
        // What the witness reads of the service's runs (the service's migrations do not run here).
        try (Connection c = postgres.connect("setup");
                Statement st = c.createStatement()) {
            st.execute(
                    "create table if not exists task_runs (id bigint, task_name text, instance_id text, fence bigint,"
                            + " started_at timestamptz, status text)");
            st.execute("insert into task_runs values (41, '01-sql', 'chaos-1', 7, now(), 'RUNNING'),"
                    + " (42, '04-sql', 'chaos-1', 8, now(), 'RUNNING')");
        }
        List<Event> all;
        try (SqlWitness witness = new SqlWitness(database, dir, Duration.ofMillis(50));
                Connection c = postgres.connect("starpets-chaos-1");
                Connection own = postgres.connect("starpets-chaos-1")) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute(SqlWitness.statement("01-sql", Duration.ofMillis(600)));
            }
            c.commit();
            // As the fencing sql handler runs it: in a session named for its run.
            own.setAutoCommit(false);
            try (Statement st = own.createStatement()) {
                st.execute("select set_config('application_name', 'starpets-run-42', true)");
                st.execute(SqlWitness.statement("04-sql", Duration.ofMillis(300)));
            }
            own.commit();
            witness.stopAndReadCommitted(postgres.disconnections());
            all = WitnessLog.readAll(dir);
        }

        assertThat(all.stream().filter(e -> e.task().equals("04-sql")))
                .as("a session named for its run")
                .isNotEmpty()
                .allSatisfy(e -> {
                    assertThat(e.runId()).isEqualTo(42);
                    assertThat(e.fence()).isEqualTo(8);
                    assertThat(e.instance()).isEqualTo("chaos-1");
                });
        List<Event> events = all.stream().filter(e -> e.task().equals("01-sql")).toList();
        assertThat(events).isNotEmpty().allSatisfy(e -> {
            assertThat(e.kind()).isEqualTo(HandlerKind.SQL);
            assertThat(e.host()).isEqualTo(4711);
            assertThat(e.runId()).as("the task's run on its instance").isEqualTo(41);
            assertThat(e.fence()).isEqualTo(7);
        });
        assertThat(events.stream().map(Event::execution).distinct())
                .as("the statement seen running and the committed row are one execution (by its query_start)")
                .hasSize(1);
        List<Event> steps = events.stream().filter(e -> !e.end()).toList();
        assertThat(steps.size()).as("its start, and sampled while it ran").isGreaterThanOrEqualTo(2);
        Event committed = events.stream()
                .filter(e -> e.outcome().equals("committed"))
                .findFirst()
                .orElseThrow();
        Event ended = events.stream()
                .filter(e -> e.end() && !e.outcome().equals("committed"))
                .findFirst()
                .orElseThrow();
        assertThat(ended.micros() - steps.getFirst().micros())
                .as("seen ended (done, or gone on to its COMMIT) after its 600 ms")
                .isBetween(600_000L, 30_000_000L);
        assertThat(committed.micros() - steps.getFirst().micros())
                .as("committed after its 600 ms")
                .isBetween(600_000L, 30_000_000L);
        assertThat(committed.micros())
                .as("committed after it was last seen running")
                .isGreaterThan(steps.getLast().micros());
    }
}

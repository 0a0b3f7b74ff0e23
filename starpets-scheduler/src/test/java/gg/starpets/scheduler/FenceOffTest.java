package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A handler whose runs reach outside the JVM says, through {@link TaskHandler#fenceOff}, when a lost
 * run of its task no longer executes anywhere; until it does, recovery leaves the task owned, and no
 * instance starts it.
 */
class FenceOffTest {

    private SchedulerCluster cluster;
    private Scheduler scheduler;

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        if (scheduler != null) {
            scheduler.close();
        }
        cluster.close();
    }

    enum Answer {
        REFUSE,
        FAIL,
        FENCED
    }

    /** A real handler, as the sql handler is: its runs start, and it answers fenceOff as told. */
    static final class FencingHandler implements TaskHandler {
        final AtomicReference<Answer> answer = new AtomicReference<>(Answer.REFUSE);
        final ConcurrentLinkedQueue<Long> asked = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Map<String, Object>> askedWith = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Long> started = new ConcurrentLinkedQueue<>();

        @Override
        public void run(RunContext context) {
            started.add(context.runId());
        }

        @Override
        public boolean fenceOff(long runId, Map<String, Object> params) {
            asked.add(runId);
            askedWith.add(params);
            return switch (answer.get()) {
                case REFUSE -> false;
                case FAIL -> throw new IllegalStateException("the server the run used is unreachable");
                case FENCED -> true;
            };
        }
    }

    @Test
    void aLostRunsTaskStartsNowhereUntilItsHandlerHasFencedTheRunOff() throws Exception {
        FencingHandler handler = new FencingHandler();
        AtomicInteger failedRounds = new AtomicInteger();
        scheduler = new Scheduler(
                SchedulerCluster.settings("inst-b"),
                cluster.pool,
                cluster::connection,
                Map.of("fenced", handler),
                new SchedulerEvents() {
                    @Override
                    public void fenceOffFailed(String task) {
                        failedRounds.incrementAndGet();
                    }
                });
        scheduler.syncTasks(List.of(TaskDefinition.of(
                "guarded", "fenced", "1h", "UTC", Duration.ofMinutes(1), true, Map.of("statement", "select 1"))));
        // An instance claims it and dies: its session (holding its lock) ends with the run in progress.
        long lostRun;
        try (Connection dying = cluster.connection()) {
            try (var st = dying.createStatement()) {
                st.execute("select pg_advisory_lock_shared(4711)");
            }
            lostRun = new TaskRepository()
                    .claim(dying, "inst-dead", 4711, SchedulerCluster.LEASE, 1)
                    .getFirst()
                    .runId();
        }
        scheduler.start();

        // Asked again and again, refused: the task stays with the dead instance, started nowhere.
        await().atMost(Duration.ofSeconds(10)).until(() -> handler.asked.size() >= 3);
        handler.answer.set(Answer.FAIL);
        int askedBefore = handler.asked.size();
        await().atMost(Duration.ofSeconds(10)).until(() -> handler.asked.size() >= askedBefore + 3);
        assertThat(handler.started)
                .as("runs started while the lost one was not fenced off")
                .isEmpty();
        assertThat(cluster.query(
                        "select t.owner_instance || ' ' || r.status from tasks t join task_runs r on r.id = t.current_run_id",
                        rs -> rs.getString(1)))
                .containsExactly("inst-dead RUNNING");
        assertThat(handler.asked).containsOnly(lostRun);
        assertThat(handler.askedWith).containsOnly(Map.of("statement", "select 1"));
        assertThat(failedRounds.get()).isGreaterThanOrEqualTo(6);

        handler.answer.set(Answer.FENCED);

        await().atMost(Duration.ofSeconds(10)).until(() -> handler.started.size() == 1);
        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(cluster.query(
                                "select id || ' ' || status from task_runs order by id", rs -> rs.getString(1)))
                        .containsExactly(lostRun + " LOST", handler.started.peek() + " SUCCEEDED"));
    }

    /**
     * A handler blocked where the interrupt sent at the round's limit does not reach (a call stuck in the
     * kernel, a loop that swallows interrupts) holds its own lost run only: the round ends at its limit,
     * other lost tasks are recovered, and the blocked handler is not asked again while it still blocks.
     */
    @Test
    void aHandlerBlockedPastTheLimitHoldsOnlyItsOwnLostRun() throws Exception {
        CountDownLatch unblock = new CountDownLatch(1);
        ConcurrentLinkedQueue<String> asked = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> started = new ConcurrentLinkedQueue<>();
        AtomicInteger stuckRounds = new AtomicInteger();
        TaskHandler handler = new TaskHandler() {
            @Override
            public void run(RunContext context) {
                started.add(context.taskName());
            }

            @Override
            public boolean fenceOff(long runId, Map<String, Object> params) {
                asked.add((String) params.get("name"));
                if (params.get("name").equals("stuck")) {
                    boolean interrupted = false;
                    while (true) {
                        try {
                            unblock.await();
                            break;
                        } catch (InterruptedException e) {
                            interrupted = true; // swallowed: the interrupt does not reach where it blocks
                        }
                    }
                    if (interrupted) {
                        Thread.currentThread().interrupt();
                    }
                }
                return true;
            }
        };
        scheduler = new Scheduler(
                SchedulerCluster.settings("inst-b"),
                cluster.pool,
                cluster::connection,
                Map.of("fenced", handler),
                new SchedulerEvents() {
                    @Override
                    public void fenceOffFailed(String task) {
                        if (task.equals("stuck")) {
                            stuckRounds.incrementAndGet();
                        }
                    }
                });
        try {
            scheduler.syncTasks(List.of(
                    TaskDefinition.of(
                            "stuck", "fenced", "1h", "UTC", Duration.ofMinutes(1), true, Map.of("name", "stuck")),
                    TaskDefinition.of(
                            "other", "fenced", "1h", "UTC", Duration.ofMinutes(1), true, Map.of("name", "other"))));
            try (Connection dying = cluster.connection()) {
                try (var st = dying.createStatement()) {
                    st.execute("select pg_advisory_lock_shared(4711)");
                }
                assertThat(new TaskRepository().claim(dying, "inst-dead", 4711, SchedulerCluster.LEASE, 2))
                        .hasSize(2);
            }
            scheduler.start();

            await().atMost(Duration.ofSeconds(10)).until(() -> started.contains("other"));
            // Later rounds find the stuck run still unfenced without asking its blocked handler again.
            await().atMost(Duration.ofSeconds(10)).until(() -> stuckRounds.get() >= 3);
            assertThat(started).containsExactly("other");
            assertThat(cluster.query("select owner_instance from tasks where name = 'stuck'", rs -> rs.getString(1)))
                    .containsExactly("inst-dead");
            assertThat(asked.stream().filter("stuck"::equals)).hasSize(1);
        } finally {
            unblock.countDown();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> started.contains("stuck"));
    }

    /**
     * A sql run whose connection broke fails while its statement may still execute on the server (until
     * the server notices its client went away): the task must not be released before that is ended.
     */
    @Test
    void aFailedRunIsFencedOffBeforeItsEndIsWritten() {
        ConcurrentLinkedQueue<String> seenWhenAsked = new ConcurrentLinkedQueue<>();
        TaskHandler failing = new TaskHandler() {
            @Override
            public void run(RunContext context) {
                throw new IllegalStateException("An I/O error occurred while sending to the backend.");
            }

            @Override
            public boolean fenceOff(long runId, Map<String, Object> params) {
                seenWhenAsked.addAll(cluster.query(
                        "select r.status || ' ' || (t.owner_session is not null) from task_runs r"
                                + " join tasks t on t.id = r.task_id where r.id = " + runId,
                        rs -> rs.getString(1)));
                return true;
            }
        };
        scheduler = new Scheduler(
                SchedulerCluster.settings("inst-a"),
                cluster.pool,
                cluster::connection,
                Map.of("fenced", failing),
                new SchedulerEvents() {});
        scheduler.syncTasks(List.of(TaskDefinition.of(
                "broken-link", "fenced", "1h", "UTC", Duration.ofMinutes(1), true, Map.of("statement", "select 1"))));
        scheduler.start();

        await().atMost(Duration.ofSeconds(10))
                .until(() -> cluster.query("select status from task_runs", rs -> rs.getString(1))
                        .contains("FAILED"));
        assertThat(seenWhenAsked)
                .as("asked once, while the run was still RUNNING and its task still owned")
                .containsExactly("RUNNING true");
    }

    @Test
    void onlyHandlersThatOverrideFenceOffAreAsked() {
        TaskHandler plain = context -> {};
        assertThat(OrphanRecovery.fencesOff(plain)).isFalse();
        assertThat(OrphanRecovery.fencesOff(new FencingHandler())).isTrue();
    }
}

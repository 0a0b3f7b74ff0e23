package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.TcpProxy;
import gg.starpets.support.TestPostgres;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An instance cut off from the database (all but its watch session) for longer than the lease comes
 * back to find its tasks taken over. The renewal it then sends extends only the runs it returned: the runs whose task runs
 * elsewhere take no further step, judged from the handlers' steps (outside the scheduler's tables).
 */
class TakenOverRunTest {

    private static final Duration STEP = Duration.ofMillis(20);

    private SchedulerCluster cluster;
    private final Steps steps = new Steps();

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    /** Steps with {@link RunContext#sleep} between them: longer than the partition and the takeover together. */
    private TaskHandler longStepper(String instance) {
        return context -> {
            for (int i = 0; i < 2_000; i++) {
                if (!context.mayContinue()) {
                    return;
                }
                steps.record(instance, context);
                context.sleep(STEP);
            }
        };
    }

    @Test
    void aRunWhoseTaskWasTakenOverDuringAPartitionTakesNoStepWhenItsInstanceIsBack() throws Exception {
        try (TcpProxy proxy = new TcpProxy(TestPostgres.port());
                HikariDataSource poolA = cluster.poolThrough(proxy)) {
            String urlA = poolA.getJdbcUrl();
            // The primary session and the pool go through the proxy; the watch does not, so a keeps its
            // lock: the loss is not noticed, and b may take the tasks only when their leases run out.
            Scheduler a = new Scheduler(
                    SchedulerCluster.settings("inst-a"),
                    poolA,
                    () -> SchedulerCluster.connect(urlA, 1),
                    cluster::connection,
                    Map.of("step", longStepper("inst-a")),
                    SchedulerEvents.NONE,
                    Scheduler.HALT);
            a.syncTasks(SchedulerCluster.tasks(2, "long", "1h", i -> "step"));
            a.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> a.activeRuns() == 2);
            Scheduler b = cluster.create("inst-b", Map.of("step", longStepper("inst-b")));
            b.start();

            // Bytes stop both ways, no socket closes: the lease (4 s) runs out and b takes both tasks.
            proxy.partition();
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> cluster.count("select count(*) from tasks where owner_instance = 'inst-b'") == 2
                            && steps.count("inst-b") >= 2);
            proxy.resume();

            // a renews again (its session comes back) and stops the runs it no longer owns.
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> a.activeRuns() == 0
                            && cluster.count("select count(*) from instances where id = 'inst-a'"
                                            + " and heartbeat_at > now() - interval '1 second'")
                                    == 1);
            b.close();
            a.close();
        }
        assertThat(stepsAfterTheNextRunStarted()).isEmpty();
    }

    /** Steps of a run taken after the first step of a later run of the same task. */
    private List<String> stepsAfterTheNextRunStarted() {
        Map<String, Map<Long, List<Steps.Step>>> byTaskAndRun = steps.all().stream()
                .collect(Collectors.groupingBy(Steps.Step::task, Collectors.groupingBy(Steps.Step::runId)));
        List<String> late = new java.util.ArrayList<>();
        byTaskAndRun.forEach((task, runs) -> {
            List<Long> ids = runs.keySet().stream().sorted().toList();
            for (int i = 0; i + 1 < ids.size(); i++) {
                long nextStart = runs.get(ids.get(i + 1)).stream()
                        .mapToLong(Steps.Step::nanos)
                        .min()
                        .orElseThrow();
                for (Steps.Step s : runs.get(ids.get(i))) {
                    if (s.nanos() > nextStart) {
                        late.add(task + ": run " + s.runId() + " on " + s.instance() + " stepped "
                                + Duration.ofNanos(s.nanos() - nextStart).toMillis() + " ms after run "
                                + ids.get(i + 1) + " started");
                    }
                }
            }
        });
        late.sort(Comparator.naturalOrder());
        return late;
    }
}

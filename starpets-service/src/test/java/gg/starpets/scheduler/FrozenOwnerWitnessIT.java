package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppProcess;
import gg.starpets.support.JarCluster;
import gg.starpets.support.SecondJarLane;
import gg.starpets.support.Timing;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The owner of running tasks is frozen (SIGSTOP) for longer than the lease, then resumed; its runs
 * last much longer than the freeze, and another instance starts its tasks meanwhile. Judged from
 * outside the processes, by the witness handler's own files (each step it took, with the machine's
 * clock): no step of a frozen instance's run comes after the first step of the run another instance
 * started for its task.
 */
@SecondJarLane
class FrozenOwnerWitnessIT {

    private static final Duration LEASE = Duration.ofSeconds(5);
    private static final int TASKS = 6;

    private final JarCluster cluster = new JarCluster();
    private final Path witnessDir;

    FrozenOwnerWitnessIT() throws IOException {
        witnessDir = Files.createTempDirectory("starpets-frozen-witness-");
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        cluster.close();
    }

    /** One line a witness wrote: a step, or the end of its run. */
    record Line(long micros, boolean step, String task, long runId) {

        static Line parse(String text) {
            String[] f = text.split("\t", -1);
            return new Line(Long.parseLong(f[0]), f[1].equals("step"), f[2], Long.parseLong(f[3]));
        }
    }

    private AppProcess start(String instanceId) throws Exception {
        Map<String, Object> settings = cluster.settings();
        settings.put("starpets.witness.dir", witnessDir);
        // The three start together and take one task each.
        settings.put("starpets.scheduler.settle", "3s");
        settings.put("starpets.scheduler.total-instances", "3");
        settings.put("starpets.scheduler.lease", LEASE.toMillis() + "ms");
        settings.put("starpets.scheduler.heartbeat", "1s");
        for (int i = 0; i < TASKS; i++) {
            String prefix = "starpets.tasks[" + i + "].";
            settings.put(prefix + "name", "witness-" + i);
            settings.put(prefix + "handler", "witness");
            settings.put(prefix + "schedule", "1h");
            settings.put(prefix + "timeout", "10m");
            // Runs much longer than the freeze: the frozen runs are still in progress when it ends.
            settings.put(prefix + "params.duration", "40s");
            settings.put(prefix + "params.step", "100ms");
        }
        return cluster.start(instanceId, settings);
    }

    private static long maxOf(List<String> runIds) {
        return runIds.stream().mapToLong(Long::parseLong).max().orElseThrow();
    }

    private List<Line> witnessed() {
        try (Stream<Path> files = Files.list(witnessDir)) {
            List<Line> lines = new ArrayList<>();
            for (Path file : files.toList()) {
                for (String text : Files.readAllLines(file)) {
                    // A line being written as we read is complete at the next look.
                    if (text.split("\t", -1).length >= 7) {
                        lines.add(Line.parse(text));
                    }
                }
            }
            return lines;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Frozen for 1.6 leases: its sessions outlive the freeze (the server ends an idle one after two
     * leases), but its primary session is ended meanwhile, as a proxy's reset would. On waking, the
     * watch answers at once while the heartbeat reconnects: the first renewal it sends is the one
     * that tells which runs are still its own, with nothing else holding the others back.
     */
    @Test
    void anOwnerFrozenWhileItsPrimarySessionEndsTakesNoStepAfterItsTasksStartedElsewhere() throws Exception {
        freezeTheOwnerOfTheMostTasks(LEASE.multipliedBy(8).dividedBy(5), true);
    }

    /** Frozen for three leases: the server ends both its sessions; it reconnects on waking. */
    @Test
    void anOwnerFrozenForThreeLeasesTakesNoStepAfterItsTasksStartedElsewhere() throws Exception {
        freezeTheOwnerOfTheMostTasks(LEASE.multipliedBy(3), false);
    }

    private void freezeTheOwnerOfTheMostTasks(Duration freeze, boolean endItsPrimarySession) throws Exception {
        List<AppProcess> processes = new ArrayList<>();
        for (String id : List.of("frozen-a", "frozen-b", "frozen-c")) {
            processes.add(start(id));
        }
        // From the start of three processes: most of the wait is their start.
        await().ignoreExceptions()
                .atMost(Timing.START)
                .until(() -> cluster.count("select count(*) from tasks where owner_instance is not null") == TASKS);
        String ownerId = cluster.strings("select owner_instance from tasks where owner_instance is not null"
                        + " group by 1 order by count(*) desc, 1 limit 1")
                .getFirst();
        AppProcess owner = processes.stream()
                .filter(p -> p.instanceId().equals(ownerId))
                .findFirst()
                .orElseThrow();
        List<String> frozenRuns =
                cluster.strings("select current_run_id from tasks where owner_instance = '" + ownerId + "'");
        // Every run to freeze has taken its first step: one claimed a moment ago may not have yet.
        await().ignoreExceptions()
                .atMost(Timing.SOON)
                .until(() -> witnessed().stream()
                        .filter(Line::step)
                        .map(l -> Long.toString(l.runId()))
                        .collect(Collectors.toSet())
                        .containsAll(frozenRuns));

        owner.signal("STOP");
        long frozenAt = System.nanoTime();
        if (endItsPrimarySession) {
            assertThat(cluster.count("select count(pg_terminate_backend(pid)) from pg_stat_activity"
                            + " where datname = current_database() and application_name = 'starpets-session-" + ownerId
                            + "'"))
                    .isEqualTo(1);
        }
        // The frozen instance's tasks run elsewhere once their leases run out, while it is still frozen.
        await().ignoreExceptions()
                .atMost(freeze)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'RUNNING'"
                                + " and instance_id <> '" + ownerId + "' and id > " + maxOf(frozenRuns))
                        >= frozenRuns.size());
        // The fault lasts its full length.
        await().pollInterval(Duration.ofMillis(50))
                .atMost(freeze.plusSeconds(5))
                .until(() -> System.nanoTime() - frozenAt >= freeze.toNanos());
        owner.signal("CONT");

        // The frozen runs end once their instance sees they are no longer its own.
        await().atMost(Duration.ofSeconds(60))
                .until(() -> witnessed().stream()
                                .filter(l -> !l.step() && frozenRuns.contains(Long.toString(l.runId())))
                                .count()
                        == frozenRuns.size());

        List<Line> lines = witnessed();
        Map<String, Map<Long, List<Line>>> steps = lines.stream()
                .filter(Line::step)
                .collect(Collectors.groupingBy(Line::task, Collectors.groupingBy(Line::runId)));
        List<String> late = new ArrayList<>();
        for (String runId : frozenRuns) {
            List<Line> old = lines.stream()
                    .filter(l -> l.step() && l.runId() == Long.parseLong(runId))
                    .toList();
            assertThat(old).as("run %s stepped before the freeze", runId).isNotEmpty();
            String task = old.getFirst().task();
            long nextStart = steps.get(task).entrySet().stream()
                    .filter(e -> e.getKey() > Long.parseLong(runId))
                    .flatMap(e -> e.getValue().stream())
                    .mapToLong(Line::micros)
                    .min()
                    .orElseThrow(() -> new AssertionError("no run of " + task + " started after run " + runId));
            old.stream()
                    .filter(l -> l.micros() > nextStart)
                    .findFirst()
                    .ifPresent(l -> late.add("%s: run %s stepped %d ms after the next run's first step (%d such steps)"
                            .formatted(
                                    task,
                                    runId,
                                    (l.micros() - nextStart) / 1000,
                                    old.stream()
                                            .filter(s -> s.micros() > nextStart)
                                            .count())));
        }
        assertThat(late)
                .as("steps of frozen runs after their task started elsewhere")
                .isEmpty();
        assertThat(owner.alive()).isTrue();
    }
}

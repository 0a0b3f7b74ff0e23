package gg.starpets.chaos;

import static gg.starpets.chaos.ChaosCluster.nowMicros;

import gg.starpets.chaos.ChaosCluster.OpenRun;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** When the cluster has settled after a fault, judged from the database and the witness files as they grow. */
final class Settling {

    private final ChaosSettings settings;
    private final ChaosCluster cluster;
    private final WitnessLog.Tail tail;
    /** Stuck runs already reported by an earlier fault: counted once, they do not hold up later faults. */
    private final Set<Long> reported = new HashSet<>();

    private final Runnable restartExited;

    /** @param restartExited starts again an instance that exited by itself; run before every check */
    Settling(ChaosSettings settings, ChaosCluster cluster, WitnessLog.Tail tail, Runnable restartExited) {
        this.settings = settings;
        this.cluster = cluster;
        this.tail = tail;
        this.restartExited = restartExited;
    }

    /** Whether a settle check passed; if not, why, and which runs were stuck (RUNNING without a live, stepping owner). */
    record Result(boolean settled, Set<Long> stuck, String why) {}

    /**
     * Waits until, twice a heartbeat apart: every instance runs and heartbeats; every RUNNING run is the
     * current run of a live instance's session and its handler takes steps; no task is overdue; every task
     * the victims ran has made progress since {@code sinceMicros} (the fault's end); every task runs
     * normally by the witness (steps now, or finished its run within its delay); no execution still
     * steps after its run's end was recorded (an orphan program, a statement left running on the
     * server: the fault goes on while they do). Only the work of live JVMs counts as progress: a dead
     * JVM's orphan programs and statements do not. At the limit, reports what was stuck then.
     */
    Result await(Set<String> victimTasks, long sinceMicros, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        long quietSince = -1;
        while (true) {
            restartExited.run();
            Result check = check(victimTasks, sinceMicros);
            if (!check.settled()) {
                quietSince = -1;
            } else if (quietSince < 0) {
                quietSince = System.nanoTime();
            } else if (System.nanoTime() - quietSince >= settings.heartbeat().toNanos()) {
                return check;
            }
            if (System.nanoTime() > deadline) {
                reported.addAll(check.stuck());
                return new Result(false, check.stuck(), check.why());
            }
            Thread.sleep(100);
        }
    }

    private boolean live(long host) {
        return host == 0 || cluster.alive(host);
    }

    private Result check(Set<String> victimTasks, long sinceMicros) {
        tail.poll();
        try {
            List<String> down = cluster.instances.stream()
                    .filter(c -> !c.process.alive())
                    .map(c -> c.instanceId)
                    .toList();
            long live = cluster.count("""
                    select count(*) from instances
                     where state = 'RUNNING' and heartbeat_at > now() - ? * interval '1 millisecond' and id = any(?)
                    """, settings.lease().toMillis(), (Object)
                    cluster.instanceIds().toArray(String[]::new));
            long now = nowMicros();
            long grace = maxOf(
                                    Duration.ofSeconds(2),
                                    settings.heartbeat().multipliedBy(3),
                                    settings.step().multipliedBy(10))
                            .toNanos()
                    / 1_000;
            Set<Long> stuck = new TreeSet<>();
            Set<String> heldByReported = new HashSet<>();
            for (OpenRun r : cluster.openRuns()) {
                boolean silent = r.startedMicros() < now - grace && tail.lastStepOfRun(r.id()) < now - grace;
                if (reported.contains(r.id())) {
                    heldByReported.add(r.task());
                } else if (!r.ownedByLiveInstance() || silent) {
                    stuck.add(r.id());
                }
            }
            // A program or statement still at work after its run was given up (LOST, FAILED): the fault is not over.
            List<Long> lingering = new ArrayList<>();
            long recent = Math.max(60, 2 * settings.runDuration().toSeconds());
            for (var ended : cluster.recentlyEnded(recent).entrySet()) {
                long last = tail.lastStepOfRun(ended.getKey());
                if (last > ended.getValue() && last >= now - grace) {
                    lingering.add(ended.getKey());
                }
            }
            // The group's limit binds: while as many of its tasks as its limit run normally, the others
            // wait for a slot, due and unowned, and that is no fault's doing.
            List<String> grouped = settings.groupTasks();
            boolean groupFull = !grouped.isEmpty()
                    && grouped.stream().filter(t -> runningNormally(t, now)).count() >= settings.groupLimit();
            long overdue = cluster.count(
                    """
                    select count(*) from tasks
                     where enabled and owner_session is null and next_run_at < now() - ? * interval '1 millisecond'
                       and not (? and concurrency_group is not null)
                    """, settings.heartbeat().multipliedBy(2).plusSeconds(1).toMillis(), groupFull);
            List<String> waiting = victimTasks.stream()
                    .filter(t -> !heldByReported.contains(t) && tail.lastProgressOfTask(t, this::live) <= sinceMicros)
                    .filter(t -> !(groupFull && grouped.contains(t)))
                    .sorted()
                    .toList();
            List<String> idle = cluster.taskNames().stream()
                    .filter(t -> !heldByReported.contains(t) && !runningNormally(t, now))
                    .filter(t -> !(groupFull && grouped.contains(t)))
                    .toList();
            List<String> why = new ArrayList<>();
            if (!down.isEmpty()) {
                why.add("not running: " + down);
            }
            if (live < settings.instances()) {
                why.add(live + " of " + settings.instances() + " instances heartbeating");
            }
            if (!stuck.isEmpty()) {
                why.add("runs RUNNING with no live, stepping owner: " + stuck);
            }
            if (!lingering.isEmpty()) {
                why.add("executions still live after their run ended: runs " + new TreeSet<>(lingering));
            }
            if (overdue > 0) {
                why.add(overdue + " task(s) overdue");
            }
            if (!waiting.isEmpty()) {
                why.add("not running again: " + waiting);
            }
            if (!idle.isEmpty()) {
                why.add("not running normally: " + idle);
            }
            return new Result(why.isEmpty(), stuck, String.join("; ", why));
        } catch (SQLException e) {
            return new Result(false, Set.of(), "database: " + e.getMessage());
        }
    }

    /** Runs reported stuck by a fault that are still RUNNING now. */
    Set<Long> reportedStillOpen() throws SQLException {
        Set<Long> open = new TreeSet<>();
        for (OpenRun r : cluster.openRuns()) {
            if (reported.contains(r.id())) {
                open.add(r.id());
            }
        }
        return open;
    }

    /** Until every instance runs at least one task, so that the first fault has something to hit. */
    void awaitEveryInstanceRunning(Duration limit) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        String sql = "select count(distinct owner_instance) from tasks where owner_session is not null";
        while (cluster.count(sql) < settings.instances()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not every instance runs a task after " + limit);
            }
            Thread.sleep(100);
        }
    }

    /**
     * From the witness: the task steps now, or its last run finished its work ("done") no longer than
     * its delay and a claim's margin ago. A run told to stop, or a handler silent for 5 steps (at
     * least 1 s), is not running normally, whatever the rows say.
     */
    private boolean runningNormally(String task, long nowMicros) {
        WitnessLog.Event last = tail.lastEventOfTask(task, this::live);
        if (last == null) {
            return false;
        }
        long ago = nowMicros - last.micros();
        if (!last.end()) {
            return ago
                    <= maxOf(Duration.ofSeconds(1), settings.step().multipliedBy(5))
                                    .toNanos()
                            / 1_000;
        }
        Duration pause =
                settings.delay().plus(settings.heartbeat().multipliedBy(2)).plusSeconds(1);
        return WitnessLog.finishedItsWork(last) && ago <= pause.toNanos() / 1_000;
    }

    void awaitProgress(Set<String> tasks, long afterMicros, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            tail.poll();
            if (tasks.stream().allMatch(t -> tail.lastProgressOfTask(t, this::live) > afterMicros)) {
                return;
            }
            Thread.sleep(20);
        }
    }

    private static Duration maxOf(Duration... ds) {
        Duration max = Duration.ZERO;
        for (Duration d : ds) {
            max = d.compareTo(max) > 0 ? d : max;
        }
        return max;
    }
}

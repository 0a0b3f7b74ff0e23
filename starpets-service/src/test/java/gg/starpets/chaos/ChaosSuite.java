package gg.starpets.chaos;

import static gg.starpets.chaos.ChaosCluster.nowMicros;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import gg.starpets.chaos.ChaosCluster.Instance;
import gg.starpets.chaos.ChaosJudge.Verdict;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;

/**
 * The chaos suite (issues 10 and 18): instances of the real jar run tasks of every built-in handler kind,
 * each witnessed from real execution (the in-JVM witness handler, an exec program writing its own steps,
 * sql statements seen in {@code pg_stat_activity} and in rows only committed work writes), while faults
 * are injected in a loop, each followed by a wait (bounded, polling the database) until the cluster has
 * settled; then the run is judged from the witnesses and the database and printed as markdown. Not a
 * test: run by {@code bench/chaos.sh [rounds] [instances]} (and, short and strict, by {@code
 * .ci/checks.d/50-chaos}).
 */
public final class ChaosSuite {

    private final ChaosSettings settings;
    private final ChaosCluster cluster;
    private final FaultInjector injector;
    private final Settling settling;
    private final List<String> notes = new ArrayList<>();
    private int rotation;
    /** What the suite is doing, for the notes on an instance that exited by itself. */
    private String phase = "start-up";

    /** How long the suite waits for an instance that runs a task of every handler kind, to make it the victim. */
    private final Duration victimWait;

    private ChaosSuite(ChaosSettings settings, ChaosCluster cluster) {
        this.settings = settings;
        this.cluster = cluster;
        this.injector = new FaultInjector(cluster, settings);
        this.settling = new Settling(settings, cluster, new WitnessLog.Tail(cluster.witnessDir), this::restartExited);
        Duration twoPauses = settings.delay().multipliedBy(2);
        this.victimWait = twoPauses.compareTo(Duration.ofSeconds(3)) > 0 ? twoPauses : Duration.ofSeconds(3);
    }

    public static void main(String[] args) throws Exception {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext logback) {
            logback.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).setLevel(Level.ERROR);
        }
        ChaosSettings settings = ChaosSettings.fromEnvironment(args, System.getenv());
        Path execWitness = Path.of(System.getProperty("chaos.exec-witness", "bench/chaos-exec-witness.sh"));
        int exit;
        try (ChaosCluster cluster = ChaosCluster.start(settings, execWitness)) {
            // Interrupted (Ctrl-C): no JVM, program or PostgreSQL of the suite is left behind.
            Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
                try {
                    cluster.close();
                } catch (Exception ignored) {
                    // Best effort on the way out.
                }
            }));
            exit = new ChaosSuite(settings, cluster).run();
        }
        System.exit(exit);
    }

    private int run() throws Exception {
        progress("PostgreSQL on :%d, %d instances starting; witness files in %s"
                .formatted(cluster.postgres.port(), settings.instances(), cluster.witnessDir));
        Settling.Result started = settling.await(Set.of(), nowMicros(), Duration.ofMinutes(3));
        if (!started.settled()) {
            throw new IllegalStateException("the instances did not start: " + started.why());
        }
        settling.awaitEveryInstanceRunning(Duration.ofMinutes(2));
        List<Fault> faults = new ArrayList<>();
        for (int round = 1; round <= settings.rounds(); round++) {
            for (FaultKind kind : settings.kinds()) {
                faults.add(inject(kind, round));
            }
        }
        phase = "after the last fault";
        Settling.Result end = settling.await(Set.of(), nowMicros(), settings.settleLimit());
        Set<Long> stillStuck = settling.reportedStillOpen();
        if (!stillStuck.isEmpty()) {
            notes.add("Runs reported stuck after a fault and still RUNNING at the end: " + stillStuck + ".");
        }
        var runs = cluster.runs();
        for (Instance c : cluster.instances) {
            cluster.kill(c);
        }
        int leftover = cluster.killLeftoverPrograms(); // the witness files are complete from here on
        if (leftover > 0) {
            notes.add(leftover + " exec witness program(s) still ran after their instances were killed at the end.");
        }
        if (cluster.sql != null) {
            cluster.sql.stopAndReadCommitted(cluster.postgres.disconnections());
            notes.add("sql witness: " + cluster.sql.summary() + ".");
        }
        ChaosJudge.Input input = new ChaosJudge.Input(
                WitnessLog.readAll(cluster.witnessDir),
                settings.step(),
                settings.delay(),
                faults,
                Map.copyOf(cluster.deaths),
                runs,
                end.stuck(),
                Set.copyOf(settings.groupTasks()));
        Verdict verdict = ChaosJudge.judge(input);
        List<ChaosReport.Target> more = new ArrayList<>();
        if (!settings.groupTasks().isEmpty()) {
            var executions = ChaosJudge.executions(input);
            more.add(
                    ChaosReport.groupTarget(ChaosJudge.mostAtOnce(executions, input.grouped()), settings.groupLimit()));
            more.add(ChaosReport.groupBackTarget(
                    ChaosJudge.belowLimitAfter(executions, input.grouped(), settings.groupLimit(), faults),
                    settings.groupBackWithin()));
        }
        notes.addFirst("Witness files: " + cluster.witnessDir + "; instances' logs: /tmp/starpets-chaos-*.log;"
                + " PostgreSQL's: " + cluster.postgres.logs() + ".");
        ChaosReport.print(System.out, settings, verdict, lengths(faults), String.join(" ", notes), more);
        boolean failed = Stream.concat(ChaosReport.targets(verdict).stream(), more.stream())
                .anyMatch(t -> t.correctness() && !t.met());
        return settings.strict() && failed ? 1 : 0;
    }

    private Fault inject(FaultKind kind, int round) throws Exception {
        phase = "round %d, before %s".formatted(round, kind.id());
        if (restartExited()) {
            settling.await(Set.of(), nowMicros(), settings.settleLimit());
        }
        List<Instance> victims = kind.hitsEveryInstance ? cluster.instances : List.of(nextVictim(round, kind));
        List<String> ids = victims.stream().map(c -> c.instanceId).toList();
        Set<Long> pids = new HashSet<>();
        victims.forEach(c -> pids.add(c.process.pid()));
        Set<String> victimTasks = new HashSet<>(cluster.strings(
                "select name from tasks where owner_session is not null and owner_instance = any(?)",
                (Object) ids.toArray(String[]::new)));
        long injected = nowMicros();
        FaultInjector.Applied applied = injector.apply(kind, victims, injected);
        // From the fault's end (a freeze thawed, a cut healed, a process reaped) the victims' tasks must make progress.
        long over = nowMicros();
        phase = "round %d %s".formatted(round, kind.id());
        if (kind == FaultKind.SIGKILL || kind == FaultKind.SIGTERM) {
            // Started again once its tasks run elsewhere, so that a JVM's start does not slow the failover;
            // those of the group may wait for a slot as long as a run lasts (the settling judges them).
            Set<String> ungrouped = new HashSet<>(victimTasks);
            ungrouped.removeAll(settings.groupTasks());
            settling.awaitProgress(ungrouped, over, settings.settleLimit());
            cluster.startProcess(victims.getFirst());
        }
        Settling.Result settle = settling.await(victimTasks, over, settings.settleLimit());
        Fault fault = new Fault(
                kind,
                round,
                ids,
                pids,
                injected,
                applied.appliedMicros(),
                nowMicros(),
                applied.lengthMicros(),
                settle.settled(),
                settle.stuck());
        String label = "round %d %s %s".formatted(round, kind.id(), kind.hitsEveryInstance ? "all" : ids.getFirst());
        if (!applied.note().isEmpty()) {
            notes.add(label + ": " + applied.note() + ".");
        }
        if (!settle.settled()) {
            notes.add(label + ": not settled within " + ChaosReport.human(settings.settleLimit()) + " (" + settle.why()
                    + ").");
        }
        if (kind == FaultKind.PG_PROMOTE) {
            // The next promotion's standby, started now: long before that fault, as a standby would be.
            cluster.postgres.prepareStandby();
        }
        progress("%s (%d task(s) running there): %s %.1f s after injection"
                .formatted(
                        label,
                        victimTasks.size(),
                        settle.settled() ? "settled" : "NOT settled (" + settle.why() + ")",
                        (fault.settledMicros() - injected) / 1e6));
        return fault;
    }

    /**
     * Starts again, at once, every instance that exited by itself (not a fault of the suite: e.g. its
     * watchdog halted it), as a supervisor would; said in the notes with the log line that tells why.
     * Returns whether there was one.
     */
    private boolean restartExited() {
        boolean any = false;
        for (Instance c : cluster.instances) {
            if (c.process.alive()) {
                continue;
            }
            any = true;
            cluster.deaths.putIfAbsent(c.process.pid(), nowMicros());
            String why = c.process
                    .log()
                    .lines()
                    .filter(l -> l.contains(" ERROR "))
                    .reduce((a, b) -> b)
                    .map(l -> ": \""
                            + l.substring(Math.max(0, l.indexOf("] ") + 2)).strip() + "\"")
                    .orElse("");
            notes.add("%s: %s exited by itself%s (log %s); started again."
                    .formatted(phase, c.instanceId, why, c.process.logFile()));
            try {
                cluster.startProcess(c);
            } catch (Exception e) {
                throw new IllegalStateException("could not start " + c.instanceId + " again", e);
            }
        }
        return any;
    }

    /**
     * The next instance in turn among those that run tasks of the most handler kinds: one that runs a task
     * of every kind if one does within {@link #victimWait} (so that a freeze or a kill hits an in-JVM
     * handler, an exec program and a sql statement at once), else the best there is, one running an exec
     * program first (said in the notes).
     */
    private Instance nextVictim(int round, FaultKind kind) throws SQLException, InterruptedException {
        int n = cluster.instances.size();
        long deadline = System.nanoTime() + victimWait.toNanos();
        while (true) {
            Map<String, Set<HandlerKind>> running = new HashMap<>();
            for (String row : cluster.strings(
                    "select owner_instance || ' ' || name from tasks where owner_session is not null")) {
                String[] f = row.split(" ", 2);
                HandlerKind h = HandlerKind.ofTask(f[1]);
                if (h != null) {
                    running.computeIfAbsent(f[0], k -> EnumSet.noneOf(HandlerKind.class))
                            .add(h);
                }
            }
            int bestAt = rotation;
            int best = -1;
            for (int i = 0; i < n; i++) {
                int at = (rotation + i) % n;
                Set<HandlerKind> kinds = running.getOrDefault(cluster.instances.get(at).instanceId, Set.of());
                // An exec program first (what a freeze or a kill of its JVM leaves running), then the most kinds.
                int score = kinds.size() + (kinds.contains(HandlerKind.EXEC) ? HandlerKind.values().length : 0);
                if (score > best) {
                    best = score;
                    bestAt = at;
                }
            }
            Set<HandlerKind> chosen = running.getOrDefault(cluster.instances.get(bestAt).instanceId, Set.of());
            if (chosen.containsAll(settings.handlers()) || System.nanoTime() > deadline) {
                Instance c = cluster.instances.get(bestAt);
                rotation = (bestAt + 1) % n;
                if (!chosen.containsAll(settings.handlers())) {
                    notes.add("round %d %s %s: ran tasks of %s only (no instance ran every handler kind)."
                            .formatted(round, kind.id(), c.instanceId, chosen));
                }
                return c;
            }
            Thread.sleep(100);
        }
    }

    private Map<FaultKind, String> lengths(List<Fault> faults) {
        Map<FaultKind, String> lengths = new EnumMap<>(FaultKind.class);
        lengths.put(FaultKind.SIGSTOP_SHORT, ChaosReport.human(settings.short_()));
        lengths.put(FaultKind.SIGSTOP_LONG, ChaosReport.human(settings.long_()));
        lengths.put(FaultKind.CUT_SHORT, ChaosReport.human(settings.short_()));
        lengths.put(FaultKind.CUT_LONG, ChaosReport.human(settings.long_()));
        for (FaultKind k : List.of(FaultKind.PG_RESTART, FaultKind.PG_CRASH, FaultKind.PG_PROMOTE)) {
            List<Double> downs = faults.stream()
                    .filter(f -> f.kind() == k)
                    .map(f -> f.lengthMicros() / 1e6)
                    .toList();
            lengths.put(
                    k,
                    downs.isEmpty()
                            ? "-"
                            : "p50 %s, max %s"
                                    .formatted(
                                            ChaosReport.seconds(ChaosReport.percentile(downs, 0.5)),
                                            ChaosReport.seconds(ChaosReport.percentile(downs, 1.0))));
        }
        return lengths;
    }

    private static void progress(String line) {
        System.err.println("[" + LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + "] " + line);
    }
}

package gg.starpets.chaos;

import static gg.starpets.chaos.ChaosCluster.nowMicros;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import gg.starpets.chaos.ChaosCluster.Instance;
import gg.starpets.chaos.ChaosJudge.Verdict;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.LoggerFactory;

/**
 * The chaos suite (issue 10): instances of the real jar run witness tasks while faults are injected in
 * a loop, each followed by a wait (bounded, polling the database) until the cluster has settled; then
 * the run is judged from the witness files and the database and printed as markdown. Not a test: run
 * by {@code bench/chaos.sh [rounds] [instances]} (and, short and strict, by {@code .ci/checks.d/50-chaos}).
 */
public final class ChaosSuite {

    private final ChaosSettings settings;
    private final ChaosCluster cluster;
    private final FaultInjector injector;
    private final Settling settling;
    private final List<String> notes = new ArrayList<>();
    private int rotation;

    private ChaosSuite(ChaosSettings settings, ChaosCluster cluster) {
        this.settings = settings;
        this.cluster = cluster;
        this.injector = new FaultInjector(cluster, settings);
        this.settling = new Settling(settings, cluster, new WitnessLog.Tail(cluster.witnessDir));
    }

    public static void main(String[] args) throws Exception {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext logback) {
            logback.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).setLevel(Level.ERROR);
        }
        ChaosSettings settings = ChaosSettings.fromEnvironment(args, System.getenv());
        int exit;
        try (ChaosCluster cluster = ChaosCluster.start(settings)) {
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
        Settling.Result end = settling.await(Set.of(), nowMicros(), settings.settleLimit());
        Set<Long> stillStuck = settling.reportedStillOpen();
        if (!stillStuck.isEmpty()) {
            notes.add("Runs reported stuck after a fault and still RUNNING at the end: " + stillStuck + ".");
        }
        var runs = cluster.runs();
        for (Instance c : cluster.instances) {
            cluster.kill(c); // the witness files are complete from here on
        }
        Verdict verdict = ChaosJudge.judge(new ChaosJudge.Input(
                WitnessLog.readAll(cluster.witnessDir),
                settings.step(),
                settings.delay(),
                faults,
                Map.copyOf(cluster.deaths),
                runs,
                end.stuck()));
        notes.addFirst("Witness files: " + cluster.witnessDir + "; instances' logs: /tmp/starpets-chaos-*.log.");
        ChaosReport.print(System.out, settings, verdict, lengths(faults), String.join(" ", notes));
        boolean failed = ChaosReport.targets(verdict).stream().anyMatch(t -> t.correctness() && !t.met());
        return settings.strict() && failed ? 1 : 0;
    }

    private Fault inject(FaultKind kind, int round) throws Exception {
        for (Instance c : cluster.instances) {
            if (!c.process.alive()) {
                // Not a fault of ours: it exited by itself. Said in the notes; its log tells why.
                notes.add("round %d, before %s: %s had exited by itself (log %s); started again."
                        .formatted(round, kind.id(), c.instanceId, c.process.logFile()));
                cluster.deaths.putIfAbsent(c.process.pid(), nowMicros());
                cluster.startProcess(c);
                settling.await(Set.of(), nowMicros(), settings.settleLimit());
            }
        }
        List<Instance> victims = kind == FaultKind.PG_RESTART ? cluster.instances : List.of(nextVictim());
        List<String> ids = victims.stream().map(c -> c.instanceId).toList();
        Set<Long> pids = new HashSet<>();
        victims.forEach(c -> pids.add(c.process.pid()));
        Set<String> victimTasks = new HashSet<>(cluster.strings(
                "select name from tasks where owner_session is not null and owner_instance = any(?)",
                (Object) ids.toArray(String[]::new)));
        long injected = nowMicros();
        FaultInjector.Applied applied = injector.apply(kind, victims, injected);
        if (kind == FaultKind.SIGKILL || kind == FaultKind.SIGTERM) {
            // Started again once its tasks run elsewhere, so that a JVM's start does not slow the failover.
            settling.awaitProgress(victimTasks, applied.appliedMicros(), settings.settleLimit());
            cluster.startProcess(victims.getFirst());
        }
        Settling.Result settle = settling.await(victimTasks, applied.appliedMicros(), settings.settleLimit());
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
        String label =
                "round %d %s %s".formatted(round, kind.id(), kind == FaultKind.PG_RESTART ? "all" : ids.getFirst());
        if (!applied.note().isEmpty()) {
            notes.add(label + ": " + applied.note() + ".");
        }
        if (!settle.settled()) {
            notes.add(label + ": not settled within " + ChaosReport.human(settings.settleLimit()) + " (" + settle.why()
                    + ").");
        }
        progress("%s (%d task(s) running there): %s %.1f s after injection"
                .formatted(
                        label,
                        victimTasks.size(),
                        settle.settled() ? "settled" : "NOT settled (" + settle.why() + ")",
                        (fault.settledMicros() - injected) / 1e6));
        return fault;
    }

    /** The next instance in turn that runs at least one task (any instance if none does). */
    private Instance nextVictim() throws SQLException {
        List<String> busy =
                cluster.strings("select distinct owner_instance from tasks where owner_session is not null");
        int n = cluster.instances.size();
        for (int i = 0; i < n; i++) {
            Instance c = cluster.instances.get((rotation + i) % n);
            if (busy.contains(c.instanceId)) {
                rotation = (rotation + i + 1) % n;
                return c;
            }
        }
        Instance c = cluster.instances.get(rotation);
        rotation = (rotation + 1) % n;
        return c;
    }

    private Map<FaultKind, String> lengths(List<Fault> faults) {
        Map<FaultKind, String> lengths = new EnumMap<>(FaultKind.class);
        lengths.put(FaultKind.SIGSTOP_SHORT, ChaosReport.human(settings.short_()));
        lengths.put(FaultKind.SIGSTOP_LONG, ChaosReport.human(settings.long_()));
        lengths.put(FaultKind.CUT_SHORT, ChaosReport.human(settings.short_()));
        lengths.put(FaultKind.CUT_LONG, ChaosReport.human(settings.long_()));
        List<Double> downs = faults.stream()
                .filter(f -> f.kind() == FaultKind.PG_RESTART)
                .map(f -> f.lengthMicros() / 1e6)
                .toList();
        lengths.put(
                FaultKind.PG_RESTART,
                downs.isEmpty()
                        ? "-"
                        : "p50 %s, max %s"
                                .formatted(
                                        ChaosReport.seconds(ChaosReport.percentile(downs, 0.5)),
                                        ChaosReport.seconds(ChaosReport.percentile(downs, 1.0))));
        return lengths;
    }

    private static void progress(String line) {
        System.err.println("[" + LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + "] " + line);
    }
}

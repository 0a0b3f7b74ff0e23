package gg.starpets.bench;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** The cost benchmark's markdown tables. */
final class CostReport {

    private final boolean durable;
    private final double seconds;

    CostReport(boolean durable, double seconds) {
        this.durable = durable;
        this.seconds = seconds;
    }

    void print(List<CostStep> idle, List<CostStep> byTasks, List<CostStep> byInstances, List<CostStep> saturation) {
        System.out.printf(
                "PostgreSQL 17 (embedded), %s; %d cores shared with the instances' JVM and other work; took %.0f s.%n",
                durable ? "durable (fsync, synchronous_commit on)" : "fsync and synchronous_commit off",
                Runtime.getRuntime().availableProcessors(),
                seconds);
        idle(idle);
        growth("### Claim and start lag as tasks grow", byTasks);
        growth("### Claim and start lag as instances grow", byInstances);
        saturation(saturation);
    }

    private static void idle(List<CostStep> steps) {
        if (steps.isEmpty()) {
            return;
        }
        System.out.println();
        System.out.println("### Idle load (tasks exist, none due)");
        System.out.println();
        System.out.println("| instances | tasks | statements/s per instance | transactions/s per instance"
                + " | DB CPU, all instances (% of a core) | DB CPU per instance (ms/s) | DB time per instance"
                + " (ms/s) | most frequent (calls/s per instance) |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (CostStep s : steps) {
            System.out.printf(
                    "| %d | %,d | %.1f | %.1f | %.1f %% | %.1f | %.2f | %s |%n",
                    s.instances(),
                    s.tasks(),
                    s.statementsPerInstance(),
                    s.transactions() / s.instances(),
                    s.dbCores() * 100,
                    s.dbCores() * 1000 / s.instances(),
                    s.dbTimeMs() / s.instances(),
                    s.loads().stream()
                            .limit(4)
                            .map(l -> String.format("%s %.1f", l.label(), l.calls() / s.instances()))
                            .collect(Collectors.joining(", ")));
        }
        steps.stream()
                .max(Comparator.comparingDouble(CostStep::dbTimeMs))
                .ifPresent(s -> breakdown("Idle, " + s.instances() + " instances, " + s.tasks() + " tasks", s));
    }

    private static void growth(String title, List<CostStep> steps) {
        if (steps.isEmpty()) {
            return;
        }
        System.out.println();
        System.out.println(title);
        System.out.println();
        System.out.println("| instances | tasks | due/s | runs/s | runs off schedule | claims/s | rows per claim"
                + " | claim mean / max, server (ms) | claim p50 / p99, client (ms) | share p99 client / mean server (ms)"
                + " | start lag p50 / p99 / max (ms) | due → claim p99 (ms) | DB CPU (% of a core) | statements/s |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (CostStep s : steps) {
            System.out.printf(
                    "| %d | %,d | %.0f | %.0f | %d | %.1f | %.1f | %.2f / %.1f | %.2f / %.1f | %.1f / %.2f | %.1f / %.1f / %.0f | %.1f | %.0f %% | %.0f |%n",
                    s.instances(),
                    s.tasks(),
                    s.offered(),
                    s.runs(),
                    s.offSchedule(),
                    s.claim().calls(),
                    s.claim().rowsPerCall(),
                    s.claim().meanMs(),
                    s.claim().maxMs(),
                    s.claim().clientP50(),
                    s.claim().clientP99(),
                    s.share().clientP99(),
                    s.share().meanMs(),
                    s.lagP50(),
                    s.lagP99(),
                    s.lagMax(),
                    s.claimLagP99(),
                    s.dbCores() * 100,
                    s.statements());
        }
    }

    private static void saturation(List<CostStep> steps) {
        if (steps.isEmpty()) {
            return;
        }
        CostStep first = steps.getFirst();
        double lagLimit = lagLimit(steps);
        System.out.println();
        System.out.printf(
                "### Saturation: %d instances, %,d tasks, due rate raised step by step%n",
                first.instances(), first.tasks());
        System.out.println();
        System.out.println(
                "| due/s | runs/s | runs / due | runs off schedule | start lag p50 / p99 (ms) | due → claim p99 (ms)"
                        + " | claim p99 / run end p99, client (ms) | DB CPU (cores) | JVM CPU (cores) | whole host busy (cores)"
                        + " | statements/s | |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (CostStep s : steps) {
            System.out.printf(
                    "| %.0f | %.0f | %.2f | %d | %.1f / %.1f | %.1f | %.1f / %.1f | %.2f | %.2f | %.2f | %.0f | %s |%n",
                    s.offered(),
                    s.runs(),
                    s.runs() / s.offered(),
                    s.offSchedule(),
                    s.lagP50(),
                    s.lagP99(),
                    s.claimLagP99(),
                    s.claim().clientP99(),
                    s.finish().clientP99(),
                    s.dbCores(),
                    s.jvmCores(),
                    s.hostCores(),
                    s.statements(),
                    s.lagP99() <= lagLimit ? "met" : "not met");
        }
        Optional<CostStep> knee = knee(steps);
        System.out.println();
        System.out.printf(
                "Met: start lag p99 <= %.0f ms (%.0f x the lowest rate's, at least %.0f ms). Most runs started: %.0f/s.%n",
                lagLimit,
                CostBenchmark.LAG_GROWTH,
                CostBenchmark.LAG_FLOOR_MS,
                steps.stream().mapToDouble(CostStep::runs).max().orElse(0));
        System.out.println(knee.map(s -> String.format(
                        "Limit: one PostgreSQL of this size carries %.0f tasks due per second over %d instances.",
                        s.offered(), s.instances()))
                .orElse("Limit: not even the lowest rate measured was met."));
        CostStep shown = knee.orElse(first);
        breakdown(String.format("%.0f due/s", shown.offered()), shown);
        perRun(steps);
    }

    /**
     * What one run costs the database at each rate (issue 25): statements (pg_stat_statements, BEGIN and
     * COMMIT included) and transactions per run started, and the engine's three per-run kinds. Each
     * statement but a BEGIN is a round trip (the driver sends BEGIN with the statement after it).
     */
    private static void perRun(List<CostStep> steps) {
        System.out.println();
        System.out.println("#### Cost of one run");
        System.out.println();
        System.out.println(
                "| due/s | runs/s | statements per run | transactions per run | claims per run | rows per claim"
                        + " | shares per run | run ends per run | DB time per run (ms) |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        for (CostStep s : steps) {
            double runs = Math.max(s.runs(), 1e-9);
            System.out.printf(
                    "| %.0f | %.0f | %.2f | %.2f | %.3f | %.1f | %.3f | %.3f | %.3f |%n",
                    s.offered(),
                    s.runs(),
                    s.statements() / runs,
                    s.transactions() / runs,
                    s.claim().calls() / runs,
                    s.claim().rowsPerCall(),
                    s.share().calls() / runs,
                    s.finish().calls() / runs,
                    s.dbTimeMs() / runs);
        }
    }

    /**
     * The start lag p99 a rate may reach and still count as carried: twice what it is at the lowest
     * rate measured (the engine's own delay, before the database is loaded), at least the floor.
     */
    static double lagLimit(List<CostStep> saturation) {
        return Math.max(
                CostBenchmark.LAG_FLOOR_MS,
                CostBenchmark.LAG_GROWTH * saturation.getFirst().lagP99());
    }

    /** The highest rate met below the first one not met. */
    static Optional<CostStep> knee(List<CostStep> saturation) {
        double limit = lagLimit(saturation);
        CostStep last = null;
        for (CostStep s : saturation) {
            if (s.lagP99() > limit) {
                break;
            }
            last = s;
        }
        return Optional.ofNullable(last);
    }

    private static void breakdown(String title, CostStep s) {
        System.out.println();
        System.out.println("#### Statements by database time: " + title);
        System.out.println();
        System.out.println(
                "| statement | calls/s, all instances | calls/s per instance | mean (ms) | DB time (ms/s) |");
        System.out.println("|---|---|---|---|---|");
        s.loads().stream()
                .sorted(Comparator.comparingDouble(CostStep.Load::timeMs).reversed())
                .limit(12)
                .forEach(l -> System.out.printf(
                        "| %s | %.1f | %.2f | %.3f | %.1f |%n",
                        l.label(), l.calls(), l.calls() / s.instances(), l.meanMs(), l.timeMs()));
    }
}

package gg.starpets.bench;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.slf4j.LoggerFactory;

/**
 * How the database cost of the scheduler grows (issue 14), on one local PostgreSQL 17 with the
 * instances in this JVM: (1) the load idle instances put on it, (2) the claim statement's time and
 * the start lag as tasks grow 1k → 100k and instances 3 → 50 at a steady due rate, (3) the due rate
 * at which one PostgreSQL saturates. Prints markdown tables and writes PNG plots. Not a test: run by
 * {@code bench/cost.sh [smoke|quick|full]}; results and analysis in docs/benchmarks-cost.md.
 *
 * <p>Arguments: {@code smoke|quick|full} (default quick), the directory for the plots (default docs/img),
 * {@code durable|fast} (default durable: fsync and synchronous_commit on, as in production).
 */
public final class CostBenchmark {

    /**
     * What one run measures; {@code quick} takes about 4 minutes, {@code full} about 11. The instance
     * counts include 1: the start lag without any sharing, for comparison.
     */
    record Plan(
            List<Integer> idleInstances,
            List<Integer> idleTasks,
            int growthRate,
            int growthInstances,
            List<Integer> growthTasks,
            int growthTasksFixed,
            List<Integer> growthInstanceCounts,
            int saturationInstances,
            int saturationTasks,
            List<Integer> saturationRates,
            Duration warmUp,
            Duration window) {

        static Plan of(String mode) {
            return switch (mode) {
                // One point of each part: checks that the benchmark runs (about a minute).
                case "smoke" ->
                    new Plan(
                            List.of(3),
                            List.of(1_000),
                            200,
                            3,
                            List.of(1_000),
                            1_000,
                            List.of(),
                            3,
                            1_000,
                            List.of(500),
                            Duration.ofSeconds(3),
                            Duration.ofSeconds(5));
                case "quick" ->
                    new Plan(
                            List.of(3, 10, 50),
                            List.of(1_000),
                            200,
                            3,
                            List.of(1_000, 10_000, 100_000),
                            10_000,
                            List.of(1, 10, 50),
                            5,
                            20_000,
                            List.of(500, 4_000, 12_000),
                            Duration.ofSeconds(4),
                            Duration.ofSeconds(10));
                case "full" ->
                    new Plan(
                            List.of(3, 10, 50),
                            List.of(1_000, 100_000),
                            200,
                            3,
                            List.of(1_000, 10_000, 100_000),
                            10_000,
                            List.of(1, 10, 50),
                            5,
                            20_000,
                            List.of(250, 500, 1_000, 1_500, 2_000, 3_000, 4_000, 8_000),
                            Duration.ofSeconds(6),
                            Duration.ofSeconds(20));
                // What one run costs (issue 25): 5 instances at 1,000 and 10,000 due/s, no other part (about 2
                // minutes).
                case "runcost" ->
                    new Plan(
                            List.of(),
                            List.of(),
                            200,
                            3,
                            List.of(),
                            10_000,
                            List.of(),
                            5,
                            20_000,
                            List.of(1_000, 10_000),
                            Duration.ofSeconds(6),
                            Duration.ofSeconds(15));
                default -> throw new IllegalArgumentException("mode is smoke, quick, full or runcost, not " + mode);
            };
        }
    }

    /**
     * A due rate is carried while its start lag p99 stays within this many times the lowest rate's
     * (runs of fixed-delay tasks cannot fall behind in number, only in time: a database that cannot
     * keep up shows as a growing lag), and never below the floor.
     */
    static final double LAG_GROWTH = 2;

    static final double LAG_FLOOR_MS = 100;

    private CostBenchmark() {}

    public static void main(String[] args) throws Exception {
        Locale.setDefault(Locale.ROOT);
        System.setProperty("java.awt.headless", "true");
        logWarningsToStandardError();
        String mode = args.length > 0 ? args[0] : "quick";
        Path images = Path.of(args.length > 1 ? args[1] : "docs/img");
        boolean durable = !(args.length > 2 && args[2].equals("fast"));
        Plan plan = Plan.of(mode);
        System.out.printf(
                "Claim ahead: %d ms (SCHEDULER_CLAIM_AHEAD).%n%n",
                SchedulerBenchmark.claimAhead().toMillis());
        long began = System.nanoTime();
        List<CostStep> idle = new ArrayList<>();
        List<CostStep> byTasks = new ArrayList<>();
        List<CostStep> byInstances = new ArrayList<>();
        List<CostStep> saturation = new ArrayList<>();
        try (CostServer server = CostServer.start(durable)) {
            for (int tasks : plan.idleTasks()) {
                for (int instances : plan.idleInstances()) {
                    idle.add(progress(idle(server, plan, instances, tasks)));
                }
            }
            for (int tasks : plan.growthTasks()) {
                byTasks.add(progress(load(server, plan, plan.growthInstances(), tasks, plan.growthRate())));
            }
            byTasks.stream()
                    .filter(s -> s.tasks() == plan.growthTasksFixed())
                    .findFirst()
                    .ifPresent(byInstances::add);
            for (int instances : plan.growthInstanceCounts()) {
                byInstances.add(progress(load(server, plan, instances, plan.growthTasksFixed(), plan.growthRate())));
            }
            byInstances.sort(Comparator.comparingInt(CostStep::instances));
            for (int rate : plan.saturationRates()) {
                saturation.add(progress(load(server, plan, plan.saturationInstances(), plan.saturationTasks(), rate)));
            }
        }
        CostReport report = new CostReport(durable, (System.nanoTime() - began) / 1e9);
        report.print(idle, byTasks, byInstances, saturation);
        if (!idle.isEmpty() && !byTasks.isEmpty()) {
            CostCharts.write(images, idle, byTasks, byInstances, saturation);
            System.out.println();
            System.out.println("Plots written to " + images.toAbsolutePath().normalize() + " (cost-*.png)");
        }
        System.exit(0);
    }

    /** Instances with {@code tasks} tasks none of which falls due (the next in a day). */
    private static CostStep idle(CostServer server, Plan plan, int instances, int tasks) throws Exception {
        try (CostCluster cluster = new CostCluster(server, instances)) {
            cluster.start();
            cluster.seed(tasks, "1d", Duration.ofDays(1), Duration.ofHours(1));
            return CostStep.of(cluster.measure(plan.warmUp(), plan.window()), tasks, 0);
        }
    }

    /**
     * {@code tasks} no-op tasks on a fixed delay chosen so that {@code rate} of them fall due each
     * second, their first due times spread over one delay.
     */
    private static CostStep load(CostServer server, Plan plan, int instances, int tasks, int rate) throws Exception {
        Duration delay = Duration.ofMillis(Math.max(100, 1000L * tasks / rate));
        try (CostCluster cluster = new CostCluster(server, instances)) {
            cluster.start();
            cluster.seed(tasks, delay.toMillis() + "ms", Duration.ZERO, delay);
            double offered = tasks / (delay.toMillis() / 1e3);
            return CostStep.of(cluster.measure(plan.warmUp(), plan.window()), tasks, offered);
        }
    }

    /** Standard output carries the tables only; the engine's warnings and progress go to standard error. */
    private static void logWarningsToStandardError() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        context.reset();
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern("%d{HH:mm:ss.SSS} %-5level [%thread] %logger{20} - %msg%n");
        encoder.start();
        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(context);
        console.setTarget("System.err");
        console.setEncoder(encoder);
        console.start();
        var root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.WARN);
        root.addAppender(console);
    }

    private static CostStep progress(CostStep s) {
        System.err.printf(
                "step: %d instances, %d tasks, %.0f due/s: %.0f runs/s, lag p99 %.1f ms, claim p99 %.1f ms,"
                        + " %.0f statements/s, DB %.2f cores, JVM %.2f cores, host %.2f cores%n",
                s.instances(),
                s.tasks(),
                s.offered(),
                s.runs(),
                s.lagP99(),
                s.claim().clientP99(),
                s.statements(),
                s.dbCores(),
                s.jvmCores(),
                s.hostCores());
        return s;
    }
}

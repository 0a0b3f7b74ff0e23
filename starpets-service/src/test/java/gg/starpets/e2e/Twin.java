package gg.starpets.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.support.Timing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The native twin of the compose stack (scripts/twin-up.sh) on the end-to-end ports: five instances (or
 * as many as a test asks for) of the real jar behind nginx on 28080 (instances on 28081-28085), PostgreSQL on 25432, Prometheus on
 * 29090, Alertmanager on 29093 posting its notifications to the twin's {@link AlertWebhook}. One at a
 * time on a machine: run only under the heavy-work lock, as .ci/checks.d/40-e2e does.
 */
final class Twin implements AutoCloseable {

    /** The instances of a twin started without a count: what the compose stack runs. */
    static final int INSTANCES = 5;

    static final String NGINX = "http://127.0.0.1:28080";

    /** The twin's tokens (a test may give its own through its settings). Every read needs one. */
    static final String OPERATOR_TOKEN = "e2e-operator-token-0123456789";

    static final String VIEWER_TOKEN = "e2e-viewer-token-0123456789";
    static final String BALANCE_TOKEN = "e2e-balance-token-0123456789";

    private final Path dir;
    private final int instances;
    private final Map<String, String> settings;
    private final AlertWebhook alerts;

    private Twin(Path dir, int instances, Map<String, String> settings, AlertWebhook alerts) {
        this.dir = dir;
        this.instances = instances;
        this.settings = settings;
        this.alerts = alerts;
    }

    /** Starts a fresh twin of {@link #INSTANCES} instances in {@code name} beside the jar (kept for its logs). */
    static Twin start(String name, Map<String, String> settings) throws IOException, InterruptedException {
        return start(name, INSTANCES, settings);
    }

    /**
     * Starts a fresh twin of {@code instances} instances: fewer for a test that checks neither the split
     * nor a failover, since five JVMs starting at once take about 40 s of a 2-core machine and one about 15.
     */
    static Twin start(String name, int instances, Map<String, String> settings)
            throws IOException, InterruptedException {
        Path dir = Path.of(System.getProperty("starpets.jar")).toAbsolutePath().resolveSibling(name);
        Twin twin = new Twin(dir, instances, settings, AlertWebhook.start());
        twin.run("scripts/twin-down.sh", Duration.ofMinutes(2));
        if (Files.exists(dir)) {
            try (var paths = Files.walk(dir)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        try {
            twin.run("scripts/twin-up.sh", Timing.START.plus(Duration.ofMinutes(1)));
        } catch (AssertionError | RuntimeException e) {
            // A start that failed half-way leaves processes on the twin's ports, which would fail the
            // next twin (of this test class or the next one) as well.
            try {
                printLogTails(dir);
            } finally {
                twin.close();
            }
            throw e;
        }
        return twin;
    }

    /** The end of each instance's log, into the test's output (which CI shows when a test fails). */
    static void printLogTails(Path dir) throws IOException {
        if (!Files.isDirectory(dir.resolve("logs"))) {
            return;
        }
        try (var logs = Files.list(dir.resolve("logs"))) {
            for (Path log : logs.filter(l -> l.getFileName().toString().startsWith("app-"))
                    .sorted()
                    .toList()) {
                List<String> lines = Files.readAllLines(log);
                System.out.println("== " + log + " (last 15 lines)");
                lines.subList(Math.max(0, lines.size() - 15), lines.size()).forEach(System.out::println);
            }
        }
    }

    /** The settings giving every instance the twin's tokens, as the environment twin-up.sh passes on. */
    static Map<String, String> tokens() {
        return Map.of(
                "STARPETS_OPERATOR_TOKENS", "e2e-operator:" + OPERATOR_TOKEN,
                "STARPETS_VIEWER_TOKENS", "e2e-viewer:" + VIEWER_TOKEN,
                "STARPETS_BALANCE_TOKENS", "e2e-balance:" + BALANCE_TOKEN);
    }

    /** The token that reads {@code path}: the balance client's for the balance API, the viewer's else. */
    static String readerOf(String path) {
        return path.startsWith("/balance") ? BALANCE_TOKEN : VIEWER_TOKEN;
    }

    /** An instance's own address, bypassing nginx: app-1 is on 28081. */
    static String instance(int n) {
        return "http://127.0.0.1:" + (28080 + n);
    }

    /** SIGKILLs an instance, checking first that the pid is still the one twin-up.sh started. */
    void kill(String instance) throws Exception {
        Path pidFile = dir.resolve("pids/" + instance + ".pid");
        ProcessHandle process = ProcessHandle.of(
                        Long.parseLong(Files.readString(pidFile).strip()))
                .orElseThrow();
        assertThat(process.info().arguments().map(List::of).orElseThrow())
                .contains("-Dstarpets.twin=" + dir.toRealPath());
        process.destroyForcibly();
        process.onExit().get(10, TimeUnit.SECONDS);
        // Gone for good: twin-down.sh must not signal this pid, which may be reused.
        Files.delete(pidFile);
    }

    /** The receiver of the twin's Alertmanager notifications. */
    AlertWebhook alerts() {
        return alerts;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        try {
            run("scripts/twin-down.sh", Duration.ofMinutes(2));
        } finally {
            alerts.close();
        }
    }

    private void run(String script, Duration limit) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", script).inheritIO();
        Map<String, String> env = pb.environment();
        env.put("TWIN_DIR", dir.toString());
        env.put("TWIN_INSTANCES", String.valueOf(instances));
        env.put("TWIN_NGINX_PORT", "28080");
        env.put("TWIN_PG_PORT", "25432");
        env.put("TWIN_PROMETHEUS_PORT", "29090");
        env.put("TWIN_ALERTMANAGER_PORT", "29093");
        env.put("ALERT_WEBHOOK_URL", alerts.url());
        // A new alert's first notification waits 1 s for others of its group, not the shipped 10 s.
        env.put("ALERT_GROUP_WAIT", "1s");
        env.put("STARPETS_JAR", System.getProperty("starpets.jar"));
        // With TOTAL_INSTANCES (twin-up.sh sets it) the first claim waits for all the instances, at
        // most ten settle windows: as long as five JVMs may take to start on a loaded machine, so that
        // the first split is even however their starts spread. It ends as soon as all are alive.
        env.put("SCHEDULER_SETTLE", Timing.START.dividedBy(10).toSeconds() + "s");
        env.put("SHUTDOWN_GRACE", "2s");
        env.put("TWIN_STOP_SECONDS", "20");
        env.put("TWIN_START_SECONDS", String.valueOf(Timing.START.toSeconds()));
        // The client compiler only, as for the jar ITs (AppProcess): five JVMs start on two cores in
        // less time when no C2 compiles compete with them (twin-up 52-63 s -> 33-38 s measured).
        env.put("TWIN_JAVA_OPTS", "-XX:TieredStopAtLevel=1");
        // The maintenance task stays off (DISABLED on the board): a run of milliseconds among the
        // demo runs would make the first split uneven.
        env.put("HISTORY_RETENTION_ENABLED", "false");
        env.putAll(tokens());
        env.putAll(settings);
        Process p = pb.start();
        if (!p.waitFor(limit.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(script + " did not finish within " + limit);
        }
        assertThat(p.exitValue()).as(script).isZero();
    }
}

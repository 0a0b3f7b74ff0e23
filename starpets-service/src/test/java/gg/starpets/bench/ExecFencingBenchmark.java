package gg.starpets.bench;

import gg.starpets.handlers.ExecHostProcess;
import gg.starpets.handlers.ProgramSteps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * How fast the exec supervisor ends a run's programs, and what it costs: a JVM running one exec run
 * (an {@code ExecHost}, its program a shell script with a child, both ignoring SIGTERM) is killed
 * with SIGKILL again and again; the time from the kill until no process of the run is left is read
 * from /proc, polled every 0.2 ms. Also: the supervisor's start (until its first answer) and its
 * memory, and for frozen JVMs how long before the hold's end the program's last step was. Prints
 * markdown table rows. Not a test.
 */
public final class ExecFencingBenchmark {

    private static final Duration HOLD = Duration.ofSeconds(2);
    private static final Duration MARGIN = Duration.ofMillis(500);
    private static final Duration SLOW = Duration.ofSeconds(60);

    private ExecFencingBenchmark() {}

    public static void main(String[] args) throws Exception {
        int kills = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int freezes = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        Path dir = Files.createTempDirectory("starpets-exec-bench");
        Samples killToGone = new Samples();
        Samples starts = new Samples();
        Samples rss = new Samples();
        Samples anon = new Samples();
        for (int k = 0; k < kills; k++) {
            try (ExecHostProcess host = ExecHostProcess.start(dir.resolve("host-" + k + ".log"))) {
                Path file = dir.resolve("steps-" + k);
                host.run("r" + k, HOLD, MARGIN, "5s", ExecHostProcess.witness(file, true));
                List<Long> pids = ProgramSteps.awaitSteps(file, 3, SLOW);
                long[] supervisor = host.supervisor();
                starts.add(supervisor[1]);
                rss.add(status(supervisor[0], "VmRSS"));
                anon.add(status(supervisor[0], "RssAnon"));
                long killed = System.nanoTime();
                host.kill();
                while (!pids.stream().allMatch(ProgramSteps::gone)) {
                    if (System.nanoTime() - killed > SLOW.toNanos()) {
                        throw new IllegalStateException("processes " + pids + " still there a minute after the kill");
                    }
                    Thread.sleep(Duration.ofNanos(200_000));
                }
                killToGone.add(System.nanoTime() - killed);
            }
        }
        Samples earlyBy = new Samples();
        for (int f = 0; f < freezes; f++) {
            try (ExecHostProcess host = ExecHostProcess.start(dir.resolve("frozen-" + f + ".log"))) {
                Path file = dir.resolve("frozen-steps-" + f);
                host.run("f" + f, HOLD, MARGIN, "5s", ExecHostProcess.witness(file, true));
                List<Long> pids = ProgramSteps.awaitSteps(file, 3, SLOW);
                host.freeze();
                while (!ProgramSteps.stopped(host.pid())) {
                    Thread.sleep(1);
                }
                long holdEndBound = System.nanoTime() + HOLD.toNanos();
                long offset = ProgramSteps.wallMinusMonotonic();
                while (System.nanoTime() - holdEndBound < 0) {
                    Thread.sleep(10);
                }
                if (!pids.stream().allMatch(ProgramSteps::gone)) {
                    throw new IllegalStateException("processes " + pids + " still there at the end of the hold");
                }
                earlyBy.add(holdEndBound
                        + offset
                        - ProgramSteps.steps(file).getLast().wallNanos());
            }
        }
        System.out.printf(
                "| exec: SIGKILL of the JVM -> no process of the run left, %d kills | %.1f ms | %.1f ms | p99 < 500 ms"
                        + " (lock-loss grace) | %s | max %.1f ms; the program and its child ignore SIGTERM |%n",
                kills,
                killToGone.percentile(0.5) / 1e6,
                killToGone.percentile(0.99) / 1e6,
                killToGone.percentile(0.99) < 500e6 ? "met" : "NOT met",
                killToGone.percentile(1.0) / 1e6);
        System.out.printf(
                "| exec: JVM frozen past the hold -> the program's last step before the hold's end, %d freezes"
                        + " | %.0f ms before | %.0f ms before (least) | > 0 | %s | hold %d ms, margin %d ms: SIGTERM"
                        + " due %d ms, SIGKILL %d ms before the end; all processes gone at the end every time |%n",
                freezes,
                earlyBy.percentile(0.5) / 1e6,
                earlyBy.percentile(0.0) / 1e6,
                earlyBy.percentile(0.0) > 0 ? "met" : "NOT met",
                HOLD.toMillis(),
                MARGIN.toMillis(),
                MARGIN.toMillis(),
                MARGIN.toMillis() / 2);
        System.out.printf(
                "| exec supervisor: start until its first answer, %d starts | %.0f ms | %.0f ms | | | RSS p50 %.1f MB"
                        + " (private %.1f MB; the rest is the JDK's shared files) |%n",
                kills,
                starts.percentile(0.5),
                starts.percentile(0.99),
                rss.percentile(0.5) / 1024,
                anon.percentile(0.5) / 1024);
        System.exit(0);
    }

    /** A field of /proc/PID/status, in kB. */
    private static long status(long pid, String field) throws IOException {
        return Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
                .filter(l -> l.startsWith(field + ":"))
                .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")))
                .findFirst()
                .orElseThrow();
    }
}

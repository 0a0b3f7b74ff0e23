package gg.starpets.handlers;

import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.Schedule;
import gg.starpets.scheduler.TaskHandler;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The chaos suite's witness: works in small steps and writes down every step it takes, outside the
 * scheduler's tables, so that two handlers of one task live at once are seen in what really ran,
 * not in the rows. Before each step it asks {@link RunContext#mayContinue()}; then it appends a line
 * to its process's own file and waits the step. Params: {@code duration} (default 5s), {@code step}
 * (default 100ms).
 *
 * <p>One tab-separated line per event, written with one unbuffered {@code write} each (a SIGKILL
 * loses nothing already written; all processes share the machine's clock):
 * {@code <epoch µs> step|end <task> <run id> <fence> <pid> <instance> [done|stopped|interrupted]}.
 */
public final class WitnessHandler implements TaskHandler {

    private static final Duration DEFAULT_DURATION = Duration.ofSeconds(5);
    private static final Duration DEFAULT_STEP = Duration.ofMillis(100);
    private static final Set<String> PARAMS = Set.of("duration", "step");

    private final Path file;
    private final String instanceId;
    private final long pid = ProcessHandle.current().pid();
    // Runs are virtual threads: a lock rather than synchronized, so a write never pins a carrier.
    private final ReentrantLock lock = new ReentrantLock();
    private OutputStream out;

    public WitnessHandler(Path dir, String instanceId) {
        this.instanceId = instanceId;
        String safeId = instanceId.replaceAll("[^A-Za-z0-9._-]", "_");
        this.file = dir.resolve("witness-" + safeId + "-" + pid + ".log");
    }

    @Override
    public void validate(Map<String, Object> params) {
        for (String key : params.keySet()) {
            if (!PARAMS.contains(key)) {
                throw new IllegalArgumentException("unknown param '" + key + "' (known: duration, step)");
            }
        }
        duration(params, "duration", DEFAULT_DURATION);
        if (duration(params, "step", DEFAULT_STEP).isZero()) {
            throw new IllegalArgumentException("param 'step' must be longer than 0");
        }
    }

    @Override
    public void run(RunContext context) {
        Duration total = duration(context.params(), "duration", DEFAULT_DURATION);
        Duration step = duration(context.params(), "step", DEFAULT_STEP);
        long start = System.nanoTime();
        String outcome = "done";
        try {
            while (System.nanoTime() - start < total.toNanos()) {
                if (!context.mayContinue()) {
                    outcome = "stopped";
                    return;
                }
                write(context, "step", "");
                context.reportProgress((System.nanoTime() - start) / (double) total.toNanos());
                context.sleep(step);
            }
        } catch (InterruptedException e) {
            outcome = "interrupted";
            Thread.currentThread().interrupt();
        } finally {
            write(context, "end", outcome);
        }
    }

    private void write(RunContext context, String event, String detail) {
        Instant now = Instant.now();
        long micros = now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
        String line = String.join(
                        "\t",
                        Long.toString(micros),
                        event,
                        context.taskName(),
                        Long.toString(context.runId()),
                        Long.toString(context.fence()),
                        Long.toString(pid),
                        instanceId,
                        detail)
                + "\n";
        lock.lock();
        try {
            if (out == null) {
                Files.createDirectories(file.getParent());
                out = new FileOutputStream(file.toFile(), true);
            }
            out.write(line.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the witness file " + file, e);
        } finally {
            lock.unlock();
        }
    }

    private static Duration duration(Map<String, Object> params, String key, Duration defaultValue) {
        Object value = params.get(key);
        if (value == null) {
            return defaultValue;
        }
        Duration parsed = Schedule.Interval.parseDuration(value.toString().strip());
        if (parsed == null || parsed.isNegative()) {
            throw new IllegalArgumentException("param '" + key + "' must be a duration such as 100ms, not " + value);
        }
        return parsed;
    }
}

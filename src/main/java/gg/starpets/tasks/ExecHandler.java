package gg.starpets.tasks;

import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.TaskHandler;
import java.io.File;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code exec}: runs a program with its arguments (through {@code /bin/sh -c} only with
 * {@code shell: true}). Exit code 0 is success. The tail of its output (stdout and stderr as they
 * were interleaved, at most {@link RunContext#MAX_OUTPUT_CHARS} bytes) is kept with the run, the
 * exit code in its result. Its environment is the service's, plus {@code env}, plus
 * {@code STARPETS_RUN_ID}, {@code STARPETS_FENCE}, {@code STARPETS_ATTEMPT} and
 * {@code STARPETS_TASK}. When the run is stopped (timeout, fencing, shutdown) or the program ends
 * leaving processes behind, all of them get SIGTERM, then SIGKILL after {@code kill-after} (see
 * {@link ProcessTree} for which processes those are). Runs what an operator writes: operator-only.
 */
public final class ExecHandler implements TaskHandler, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ExecHandler.class);
    private static final Duration READER_WAIT = Duration.ofSeconds(2);

    private final EnvPlaceholders placeholders;
    private final List<String> launcher = ProcessTree.launcher();
    private final Set<ProcessTree> running = ConcurrentHashMap.newKeySet();

    /** {@code environment}: where {@code ${NAME}} is looked up; {@code System::getenv} in the service. */
    public ExecHandler(Function<String, String> environment) {
        this.placeholders = new EnvPlaceholders(environment);
        if (launcher.isEmpty()) {
            log.warn("No setsid(1) and /proc here: exec tasks stop only their program and its live descendants");
        }
    }

    @Override
    public boolean operatorOnly() {
        return true;
    }

    @Override
    public void validate(Map<String, Object> params) {
        ExecCommand.parse(params).checkPlaceholders(placeholders);
    }

    @Override
    public void run(RunContext context) throws Exception {
        ExecCommand command = ExecCommand.parse(context.params());
        ProcessBuilder builder = builder(command, context);
        long start = System.nanoTime();
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new RunFailedException("could not start " + command.describe() + ": " + e.getMessage(), e);
        }
        // Nothing to read on stdin: a program that reads it sees its end instead of waiting for ever.
        process.getOutputStream().close();
        ProcessTree tree = new ProcessTree(process, !launcher.isEmpty());
        running.add(tree);
        OutputTail tail = new OutputTail(RunContext.MAX_OUTPUT_CHARS);
        Thread reader = Thread.ofVirtual()
                .name("starpets-exec-output-" + context.runId())
                .start(() -> tail.drain(process.getInputStream()));
        try {
            int exitCode = process.waitFor();
            // Whatever it started in the background ends with the run.
            ProcessTree.Stop leftovers = tree.terminate(command.killAfter());
            awaitQuietly(reader, READER_WAIT);
            String note = leftovers.terminated() == 0
                    ? ""
                    : "[starpets] " + stopped(leftovers) + " left behind by the program";
            report(context, tail, start, exitCode, note);
            if (exitCode != 0) {
                throw new RunFailedException(command.describe() + " exited with code " + exitCode);
            }
        } catch (InterruptedException e) {
            ProcessTree.Stop stop = tree.terminate(command.killAfter());
            awaitQuietly(reader, READER_WAIT);
            report(
                    context,
                    tail,
                    start,
                    process.isAlive() ? null : process.exitValue(),
                    "[starpets] run stopped: " + stopped(stop) + ", kill-after "
                            + HandlerParams.text(command.killAfter()));
            throw e;
        } finally {
            running.remove(tree);
        }
    }

    private ProcessBuilder builder(ExecCommand command, RunContext context) throws RunFailedException {
        List<String> argv = new ArrayList<>(launcher);
        argv.addAll(command.argv(placeholders));
        ProcessBuilder builder = new ProcessBuilder(argv).redirectErrorStream(true);
        if (command.dir() != null) {
            File dir = new File(placeholders.resolve("dir", command.dir()));
            if (!dir.isDirectory()) {
                throw new RunFailedException("the working directory " + command.dir() + " does not exist");
            }
            builder.directory(dir);
        }
        Map<String, String> env = builder.environment();
        command.env().forEach((name, value) -> env.put(name, placeholders.resolve("env." + name, value)));
        env.put("STARPETS_RUN_ID", String.valueOf(context.runId()));
        env.put("STARPETS_FENCE", String.valueOf(context.fence()));
        env.put("STARPETS_ATTEMPT", String.valueOf(context.attempt()));
        env.put("STARPETS_TASK", context.taskName());
        return builder;
    }

    private static void report(RunContext context, OutputTail tail, long start, Integer exitCode, String note) {
        if (exitCode != null) {
            context.result("exitCode", exitCode);
        }
        context.result("durationMs", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        context.result("outputBytes", tail.total());
        String text = tail.text();
        context.output(note.isEmpty() ? text : text + (text.isEmpty() || text.endsWith("\n") ? "" : "\n") + note);
    }

    private static String stopped(ProcessTree.Stop stop) {
        return "SIGTERM to " + stop.terminated() + " process(es)"
                + (stop.killed() > 0 ? ", SIGKILL to " + stop.killed() : "");
    }

    /** Waits for the output to be read to its end; a process outside the run that holds the pipe is not waited for. */
    private static void awaitQuietly(Thread thread, Duration limit) {
        boolean interrupted = Thread.interrupted();
        long deadline = System.nanoTime() + limit.toNanos();
        while (thread.isAlive() && System.nanoTime() < deadline) {
            try {
                thread.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The service is stopping and runs were already stopped: SIGKILL to anything still running. */
    @Override
    public void close() {
        running.forEach(tree -> tree.terminate(Duration.ZERO));
    }
}

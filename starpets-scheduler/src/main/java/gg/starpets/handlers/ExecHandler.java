package gg.starpets.handlers;

import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.TaskHandler;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code exec}: runs a program with its arguments (through {@code /bin/sh -c} only with
 * {@code shell: true}). Exit code 0 is success. The tail of its output (stdout and stderr as they
 * were interleaved, at most {@link RunContext#MAX_OUTPUT_CHARS} bytes) is kept with the run, the
 * exit code in its result, task secrets taken out ({@link TaskSecrets#redact}). Its environment is
 * clean: {@code PATH}, {@code HOME} and {@code LANG} from the service's (all of the service's, secrets
 * included, only with {@code inherit-env: true}), plus {@code env}, plus {@code STARPETS_RUN_ID},
 * {@code STARPETS_FENCE}, {@code STARPETS_ATTEMPT}, {@code STARPETS_TASK} and {@code STARPETS_SCHEDULED_FOR}
 * (the time the run is for, ISO-8601 UTC: {@link RunContext#scheduledFor()}), and {@code TRACEPARENT}
 * when runs are traced ({@link RunContext#traceparent()}). When the run is
 * stopped (timeout, fencing, shutdown) or the program ends leaving processes behind, all of them get
 * SIGTERM, then SIGKILL after {@code kill-after}, or sooner as the run's hold ends (see
 * {@link ProcessTree} for which processes those are).
 *
 * <p>No program outlives its run's hold, even if this JVM dies or freezes: the {@link ExecSupervisor}
 * watches each program's group from outside, and the program starts only once it does (see
 * docs/scheduler.md, "How exec runs are fenced"). Runs what an operator writes: operator-only.
 */
public final class ExecHandler implements TaskHandler, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ExecHandler.class);
    private static final Duration READER_WAIT = Duration.ofSeconds(2);
    /** After a stop the run's processes are gone, so their output has ended; what still holds it is not the run's. */
    private static final Duration STOPPED_READER_WAIT = Duration.ofMillis(100);
    /** setsid(1) makes the program a group leader right after it starts; this bounds a machine under load. */
    private static final Duration GROUP_WAIT = Duration.ofSeconds(5);
    /** SIGKILL rounds end once nothing is left; a process that outlasts this many is stuck in the kernel. */
    private static final Duration KILL_LIMIT = Duration.ofSeconds(2);
    /**
     * The program waits for "go" on its stdin before it starts: only once the supervisor watches its
     * group. If this JVM dies first, the pipe ends and the program never starts.
     */
    private static final String GATE = "IFS= read -r go && [ \"$go\" = go ] && exec \"$@\" </dev/null";
    /** The gate shell's $0: its own errors (the program not found) start with it. */
    private static final String GATE_NAME = "starpets-exec";

    /** What a program finds of the service's environment unless its task asks to inherit all of it. */
    static final List<String> KEPT_VARIABLES = List.of("PATH", "HOME", "LANG");

    private final EnvPlaceholders placeholders;
    private final TaskSecrets secrets;
    private final List<String> launcher;
    private final ExecSupervision supervision;
    private final Set<ProcessTree> running = ConcurrentHashMap.newKeySet();

    /** {@code secrets}: what {@code ${NAME}} may read (not a secret bound to hosts: nothing checks where it goes). */
    public ExecHandler(TaskSecrets secrets) {
        this(secrets, ProcessTree.launcher());
    }

    /** @param launcher {@link ProcessTree#launcher()}; empty: programs neither in a group of their own nor supervised */
    ExecHandler(TaskSecrets secrets, List<String> launcher) {
        this.placeholders = new EnvPlaceholders(secrets, false);
        this.secrets = secrets;
        this.launcher = launcher;
        this.supervision = new ExecSupervision(launcher);
        if (launcher.isEmpty()) {
            log.warn("No setsid(1) and /proc here: exec tasks stop only their program and its live descendants,"
                    + " and a program outlives this JVM if it is killed or frozen");
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
        boolean supervised = supervision.available();
        ProcessBuilder builder = builder(command, context, supervised);
        if (!context.mayContinue()) {
            throw new InterruptedException("run " + context.runId() + " was stopped before its program started");
        }
        long start = System.nanoTime();
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new RunFailedException(
                    secrets.redact("could not start " + command.describe() + ": " + e.getMessage()));
        }
        ProcessTree tree = new ProcessTree(process.toHandle(), !launcher.isEmpty());
        running.add(tree);
        OutputTail tail = new OutputTail(RunContext.MAX_OUTPUT_CHARS);
        Thread reader = Thread.ofVirtual()
                .name("starpets-exec-output-" + context.runId())
                .start(() -> tail.drain(process.getInputStream()));
        SupervisorProcess.Watch watch = null;
        try {
            if (supervised) {
                watch = startWatched(process, tree, context);
            } else {
                // Nothing to read on stdin: a program that reads it sees its end instead of waiting for ever.
                process.getOutputStream().close();
            }
            int exitCode = awaitExit(process, watch);
            String lost = watch == null ? null : watch.lost.getNow(null);
            if (lost != null) {
                ProcessTree.Stop stop = tree.terminate(killAt(context, command, System.nanoTime()), KILL_LIMIT);
                awaitQuietly(reader, STOPPED_READER_WAIT);
                report(context, tail, start, null, "[starpets] " + lost + ": " + stopped(stop));
                throw new RunFailedException(lost + " while watching " + command.describe() + ": this JVM stopped it ("
                        + stopped(stop) + "), since nothing else would have had the JVM died or frozen;"
                        + " the next run starts a new supervisor");
            }
            // Whatever it started in the background ends with the run.
            ProcessTree.Stop leftovers = tree.terminate(killAt(context, command, System.nanoTime()), KILL_LIMIT);
            awaitQuietly(reader, READER_WAIT);
            String note = leftovers.terminated() == 0
                    ? ""
                    : "[starpets] " + stopped(leftovers) + " left behind by the program";
            // 128 + the signal's number: how a shell, and Process, tell a death by signal.
            report(context, tail, start, exitCode, join(note, supervisorNote(watch, exitCode > 128)));
            String text = tail.text();
            if (supervised && (exitCode == 126 || exitCode == 127) && text.startsWith(GATE_NAME + ": ")) {
                // The gate's exec failed: no such program, or not executable.
                throw new RunFailedException(
                        secrets.redact("could not start " + command.describe() + ": " + text.strip()));
            }
            if (exitCode != 0) {
                throw new RunFailedException(command.describe() + " exited with code " + exitCode);
            }
        } catch (InterruptedException e) {
            ProcessTree.Stop stop = tree.terminate(killAt(context, command, System.nanoTime()), KILL_LIMIT);
            awaitQuietly(reader, STOPPED_READER_WAIT);
            report(
                    context,
                    tail,
                    start,
                    process.isAlive() ? null : process.exitValue(),
                    join(
                            "[starpets] run stopped: " + stopped(stop) + ", kill-after "
                                    + HandlerParams.text(command.killAfter()),
                            supervisorNote(watch, false)));
            throw e;
        } catch (RunFailedException | RuntimeException e) {
            // Not started, or the supervisor lost: nothing of the run may stay.
            tree.terminate(() -> Long.MIN_VALUE, KILL_LIMIT);
            throw e;
        } finally {
            if (watch != null) {
                watch.close();
            }
            running.remove(tree);
        }
    }

    /**
     * Has the supervisor watch the program's group, then lets the program start. Returns null where
     * the supervisor found the clocks disagree (the program then starts unsupervised).
     */
    private SupervisorProcess.Watch startWatched(Process process, ProcessTree tree, RunContext context)
            throws RunFailedException, InterruptedException {
        long deadline = System.nanoTime() + GROUP_WAIT.toNanos();
        while (ProcessTree.groupOf(process.pid()).orElse(-1L) != tree.group()
                && process.isAlive()
                && System.nanoTime() - deadline < 0) {
            Thread.sleep(1);
        }
        SupervisorProcess.Watch watch = supervision.watch(process.pid(), context.holdMargin(), context::holdEndNanos);
        // Not within the hold any more (the JVM paused meanwhile, or lost its session): no start now.
        if (!context.mayContinue()) {
            if (watch != null) {
                watch.close();
            }
            throw new InterruptedException("run " + context.runId() + " was stopped before its program started");
        }
        try (OutputStream in = process.getOutputStream()) {
            in.write("go\n".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            // The gate is gone (killed): the program never started; its exit code says so.
        }
        return watch;
    }

    /** The program's exit code; returns early, with the program alive, if the supervisor dies meanwhile. */
    private static int awaitExit(Process process, SupervisorProcess.Watch watch) throws InterruptedException {
        CompletableFuture<?> ended =
                watch == null ? process.onExit() : CompletableFuture.anyOf(process.onExit(), watch.lost);
        try {
            ended.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
        return process.isAlive() ? -1 : process.exitValue();
    }

    /**
     * When what is left of the run gets SIGKILL after its SIGTERM: after {@code kill-after}, but at
     * most a third of what is left of the hold less its margin, and never past the hold less its
     * margin (asked again at each look: it moves earlier if the instance loses its session). A third:
     * during a graceful shutdown the engine waits half a lease for stopped handlers and then halts
     * the process; this leaves that wait a sixth of a lease to spare (1.6 s with the default lease).
     */
    static LongSupplier killAt(RunContext context, ExecCommand command, long stoppedAt) {
        long margin = context.holdMargin().toNanos();
        long holdLeft =
                context.holdEndNanos() == Long.MAX_VALUE ? Long.MAX_VALUE : context.holdEndNanos() - margin - stoppedAt;
        long grace = Math.min(command.killAfter().toNanos(), Math.max(0, holdLeft / 3));
        return () -> {
            long holdEnd = context.holdEndNanos();
            return holdEnd == Long.MAX_VALUE ? stoppedAt + grace : Math.min(stoppedAt + grace, holdEnd - margin);
        };
    }

    private ProcessBuilder builder(ExecCommand command, RunContext context, boolean gated) throws RunFailedException {
        List<String> argv = new ArrayList<>(launcher);
        if (gated) {
            argv.addAll(List.of("/bin/sh", "-c", GATE, GATE_NAME));
        }
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
        if (!command.inheritEnv()) {
            Map<String, String> service = Map.copyOf(env);
            env.clear();
            KEPT_VARIABLES.stream().filter(service::containsKey).forEach(name -> env.put(name, service.get(name)));
        }
        command.env().forEach((name, value) -> env.put(name, placeholders.resolve("env." + name, value)));
        env.put("STARPETS_RUN_ID", String.valueOf(context.runId()));
        env.put("STARPETS_FENCE", String.valueOf(context.fence()));
        env.put("STARPETS_ATTEMPT", String.valueOf(context.attempt()));
        env.put("STARPETS_TASK", context.taskName());
        env.put("STARPETS_SCHEDULED_FOR", context.scheduledFor().toString());
        if (context.traceparent() != null) {
            // The OpenTelemetry convention for a process started inside a span (its SDKs read it).
            env.put("TRACEPARENT", context.traceparent());
        }
        return builder;
    }

    private void report(RunContext context, OutputTail tail, long start, Integer exitCode, String note) {
        if (exitCode != null) {
            context.result("exitCode", exitCode);
        }
        context.result("durationMs", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        context.result("outputBytes", tail.total());
        String text = secrets.redact(tail.text(), tail.total() > RunContext.MAX_OUTPUT_CHARS, false);
        context.output(note.isEmpty() ? text : text + (text.isEmpty() || text.endsWith("\n") ? "" : "\n") + note);
    }

    /**
     * What the supervisor did as the hold ended without a renewal from this JVM; {@code ask}: the
     * program ended by a signal, ask the supervisor (not after a stop: as the hold ends, the
     * watchdog gives the handler little time).
     */
    private static String supervisorNote(SupervisorProcess.Watch watch, boolean ask) throws InterruptedException {
        List<String> signals = watch == null ? List.of() : watch.signals(ask);
        if (signals.isEmpty()) {
            return "";
        }
        return "[starpets] the run's hold was about to end without a renewal from this JVM (frozen, or cut off"
                + " from the database): the exec supervisor sent " + String.join(", then ", signals);
    }

    private static String join(String note, String other) {
        return note.isEmpty() ? other : other.isEmpty() ? note : note + "\n" + other;
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

    /** The supervisor of this handler's runs (for tests and benchmarks). */
    ExecSupervision supervision() {
        return supervision;
    }

    /** The service is stopping and runs were already stopped: SIGKILL to anything still running. */
    @Override
    public void close() {
        running.forEach(tree -> tree.kill(KILL_LIMIT));
        supervision.close();
    }
}

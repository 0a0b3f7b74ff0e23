package gg.starpets.handlers;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service's side of the {@link ExecSupervisor}: starts it when an {@code exec} run first needs it
 * (and again after it died), has it watch each run's process group, and keeps it told of each run's
 * hold end. See docs/scheduler.md, "How exec runs are fenced".
 */
final class ExecSupervision implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ExecSupervision.class);

    /** A JVM start on a loaded two-core machine takes seconds, not the usual fraction of one. */
    static final Duration START_TIMEOUT = Duration.ofSeconds(20);
    /** The supervisor acknowledges a watch at once; one that has not within this is taken as broken. */
    static final Duration ACK_TIMEOUT = Duration.ofSeconds(5);
    /** How often the hold ends of watched runs are looked at (and sent when they moved). */
    static final Duration PUSH_PERIOD = Duration.ofMillis(20);
    /** The clocks are taken to agree if the supervisor's reading falls between two of the service's this close. */
    private static final Duration CLOCK_CHECK_BOUND = Duration.ofSeconds(1);

    /** Small and quick to start; VM messages to stderr, since stdout is the protocol. */
    private static final List<String> JVM_FLAGS = List.of(
            "-Xms4m",
            "-Xmx16m",
            "-Xss512k",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:CICompilerCount=1",
            "-XX:ReservedCodeCacheSize=8m",
            "-XX:MaxMetaspaceSize=32m",
            "-XX:-UsePerfData",
            "-XX:+ExitOnOutOfMemoryError",
            "-XX:+DisplayVMOutputToStderr",
            "-Xlog:all=warning:stderr");
    /** Options the launcher would otherwise add from the service's environment (a heap sized for the service). */
    private static final List<String> JVM_ENVIRONMENT =
            List.of("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS");
    /** In a session of its own and deaf to SIGHUP, SIGINT and SIGTERM: it ends when the service is gone. */
    private static final String DETACH = "trap '' HUP INT TERM; exec \"$0\" \"$@\"";

    private final List<String> launcher;
    private final AtomicLong ids = new AtomicLong();
    private SupervisorProcess current;
    private String unavailable;
    /** How long the last start took, until its first answer (measured for the docs). */
    private volatile Duration lastStart;

    /** @param launcher {@link ProcessTree#launcher()}: where it is empty, nothing is supervised */
    ExecSupervision(List<String> launcher) {
        this.launcher = launcher;
        Path java = java();
        if (launcher.isEmpty()) {
            unavailable = "no setsid(1) and /proc here";
        } else if (!Files.isExecutable(java)) {
            unavailable = "no java at " + java;
            log.warn(
                    "No exec supervisor ({}): an exec program outlives this JVM if it is killed or frozen",
                    unavailable);
        }
    }

    /** Whether runs are supervised here. */
    synchronized boolean available() {
        return unavailable == null;
    }

    /**
     * Has the supervisor watch a program's group, started if none runs; returns once it does. Null
     * where there is no supervision (the reason warned once).
     *
     * @param pid the program, leader of a group of its own
     * @param margin the run's hold margin (SIGTERM this long before its end)
     * @param holdEnd the run's hold end, on {@link System#nanoTime()}'s clock, asked again as it moves
     */
    SupervisorProcess.Watch watch(long pid, Duration margin, LongSupplier holdEnd)
            throws RunFailedException, InterruptedException {
        SupervisorProcess supervisor = supervisor();
        if (supervisor == null) {
            return null;
        }
        return supervisor.watch(ids.incrementAndGet(), pid, margin.toNanos(), holdEnd);
    }

    Duration lastStart() {
        return lastStart;
    }

    /** The supervisor's pid, if one runs. */
    synchronized Long pid() {
        return current == null ? null : current.process.pid();
    }

    private synchronized SupervisorProcess supervisor() throws RunFailedException, InterruptedException {
        if (unavailable != null) {
            return null;
        }
        if (current == null || current.dead()) {
            current = start();
        }
        return current;
    }

    private SupervisorProcess start() throws RunFailedException, InterruptedException {
        long started = System.nanoTime();
        Path dir = null;
        SupervisorProcess supervisor = null;
        boolean done = false;
        try {
            dir = Files.createTempDirectory(
                    "starpets-exec-supervisor-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            copyClasses(dir);
            List<String> command = new ArrayList<>(launcher);
            command.addAll(List.of("/bin/sh", "-c", DETACH, java().toString()));
            command.addAll(JVM_FLAGS);
            command.addAll(List.of("-cp", dir.toString(), ExecSupervisor.class.getName(), dir.toString()));
            ProcessBuilder builder = new ProcessBuilder(command);
            JVM_ENVIRONMENT.forEach(builder.environment()::remove);
            supervisor = new SupervisorProcess(builder.start());
            long[] hello = supervisor.hello(START_TIMEOUT);
            if (!clocksAgree(supervisor)) {
                unavailable = "its clock (System.nanoTime) is not this JVM's";
                log.warn(
                        "No exec supervisor ({}): an exec program outlives this JVM if it is killed or frozen",
                        unavailable);
                return null;
            }
            done = true;
            lastStart = Duration.ofNanos(hello[1] - started);
            log.info(
                    "Exec supervisor started: pid {}, answering after {} ms",
                    supervisor.process.pid(),
                    TimeUnit.NANOSECONDS.toMillis(hello[1] - started));
            return supervisor;
        } catch (IOException | TimeoutException e) {
            throw new RunFailedException("could not start the exec supervisor: " + e, e);
        } finally {
            if (supervisor != null && !done) {
                supervisor.close();
            }
            if (dir != null) {
                deleteQuietly(dir);
            }
        }
    }

    /** Both processes read one monotonic clock: the supervisor's reading lies between two of ours. */
    private static boolean clocksAgree(SupervisorProcess supervisor) throws TimeoutException, InterruptedException {
        for (int i = 0; i < 3; i++) {
            long before = System.nanoTime();
            long[] hello = supervisor.hello(START_TIMEOUT);
            if (hello[0] - before < 0 || hello[1] - hello[0] < 0) {
                return false;
            }
            if (hello[1] - before <= CLOCK_CHECK_BOUND.toNanos()) {
                return true;
            }
        }
        return false;
    }

    private static void copyClasses(Path dir) throws IOException {
        for (Class<?> c : ExecSupervisor.classes()) {
            String name = c.getName().replace('.', '/') + ".class";
            Path target = dir.resolve(name);
            Files.createDirectories(target.getParent());
            try (InputStream in = c.getClassLoader().getResourceAsStream(name)) {
                if (in == null) {
                    throw new IOException("class file " + name + " not found");
                }
                Files.copy(in, target);
            }
        }
    }

    private static Path java() {
        return Path.of(System.getProperty("java.home"), "bin", "java");
    }

    private static void deleteQuietly(Path dir) {
        // The supervisor deletes its copy once loaded; this is for a start that failed before.
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Already gone.
        }
    }

    /** Ends the supervisor: it kills what it still watches (nothing, after the runs were stopped). */
    @Override
    public synchronized void close() {
        if (current != null) {
            current.close();
            current = null;
        }
    }
}

package gg.starpets.tasks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
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
            "-XX:+DisplayVMOutputToStderr",
            "-Xlog:all=warning:stderr");
    /** Options the launcher would otherwise add from the service's environment (a heap sized for the service). */
    private static final List<String> JVM_ENVIRONMENT =
            List.of("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS");
    /** In a session of its own and deaf to SIGHUP, SIGINT and SIGTERM: it ends when the service is gone. */
    private static final String DETACH = "trap '' HUP INT TERM; exec \"$0\" \"$@\"";

    private final List<String> launcher;
    private final AtomicLong ids = new AtomicLong();
    private Supervisor current;
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
     * Has the supervisor watch a program's group, started if none runs; returns once it does. Empty
     * where there is no supervision (the reason warned once).
     *
     * @param pid the program, leader of a group of its own
     * @param margin the run's hold margin (SIGTERM this long before its end)
     * @param holdEnd the run's hold end, on {@link System#nanoTime()}'s clock, asked again as it moves
     */
    Watch watch(long pid, Duration margin, LongSupplier holdEnd) throws RunFailedException, InterruptedException {
        Supervisor supervisor = supervisor();
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

    private synchronized Supervisor supervisor() throws RunFailedException, InterruptedException {
        if (unavailable != null) {
            return null;
        }
        if (current == null || current.dead()) {
            current = start();
        }
        return current;
    }

    private Supervisor start() throws RunFailedException, InterruptedException {
        long started = System.nanoTime();
        Path dir = null;
        Supervisor supervisor = null;
        boolean done = false;
        try {
            dir = Files.createTempDirectory(
                    "starpets-exec-supervisor-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            copyClasses(dir);
            List<String> command = new java.util.ArrayList<>(launcher);
            command.addAll(List.of("/bin/sh", "-c", DETACH, java().toString()));
            command.addAll(JVM_FLAGS);
            command.addAll(List.of("-cp", dir.toString(), ExecSupervisor.class.getName(), dir.toString()));
            ProcessBuilder builder = new ProcessBuilder(command);
            JVM_ENVIRONMENT.forEach(builder.environment()::remove);
            supervisor = new Supervisor(builder.start());
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
    private static boolean clocksAgree(Supervisor supervisor) throws TimeoutException, InterruptedException {
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
            paths.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
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

    /** One run's group under watch. */
    static final class Watch implements AutoCloseable {
        final long id;
        private final Supervisor supervisor;
        private final LongSupplier holdEnd;
        private final CompletableFuture<String> ack = new CompletableFuture<>();
        /** Completes, with what happened, if the supervisor dies while watching. */
        final CompletableFuture<String> lost = new CompletableFuture<>();
        /** What the supervisor did to the group (SIGTERM/SIGKILL at the hold's end). */
        private final List<String> signals = new CopyOnWriteArrayList<>();
        /** How long {@link #signals()} waits for the supervisor's word. */
        private static final Duration SIGNALS_WAIT = Duration.ofSeconds(1);

        private long sent;

        private Watch(long id, Supervisor supervisor, LongSupplier holdEnd) {
            this.id = id;
            this.supervisor = supervisor;
            this.holdEnd = holdEnd;
        }

        long supervisorPid() {
            return supervisor.process.pid();
        }

        /**
         * The signals the supervisor sent the group, for a program that ended by one: it says so before
         * signalling, so a round trip after the program's end brings its word.
         */
        List<String> signals() throws InterruptedException {
            if (!supervisor.dead()) {
                try {
                    supervisor.hello(SIGNALS_WAIT);
                } catch (TimeoutException e) {
                    // What was said so far is all there is.
                }
            }
            return List.copyOf(signals);
        }

        /** The run is over: the supervisor forgets its group. */
        @Override
        public void close() {
            if (supervisor.watches.remove(id) != null) {
                supervisor.send("done " + id);
            }
        }
    }

    /** One supervisor process, its two reader threads and the thread that sends hold ends. */
    private static final class Supervisor implements AutoCloseable {
        final Process process;
        private final Writer in;
        final Map<Long, Watch> watches = new ConcurrentHashMap<>();
        private final BlockingQueue<long[]> hellos = new LinkedBlockingQueue<>();
        private final CompletableFuture<Void> gone = new CompletableFuture<>();
        /** It did not answer in time and is being replaced. */
        private volatile boolean broken;

        Supervisor(Process process) {
            this.process = process;
            this.in = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            String pid = String.valueOf(process.pid());
            Thread.ofPlatform().daemon().name("starpets-exec-supervisor-" + pid).start(this::read);
            Thread.ofPlatform()
                    .daemon()
                    .name("starpets-exec-supervisor-log-" + pid)
                    .start(this::log);
            Thread.ofPlatform().daemon().name("starpets-exec-hold-" + pid).start(this::push);
        }

        boolean dead() {
            return broken || gone.isDone();
        }

        /**
         * The supervisor's clock reading and when its answer arrived here. Once it has, everything the
         * supervisor said before it was read too.
         */
        long[] hello(Duration limit) throws TimeoutException, InterruptedException {
            synchronized (hellos) {
                send("hello");
                long[] hello = hellos.poll(limit.toNanos(), TimeUnit.NANOSECONDS);
                if (hello == null) {
                    throw new TimeoutException("no answer from the exec supervisor (pid " + process.pid() + ") within "
                            + limit.toMillis() + " ms");
                }
                return hello;
            }
        }

        Watch watch(long id, long pid, long margin, LongSupplier holdEnd)
                throws RunFailedException, InterruptedException {
            Watch watch = new Watch(id, this, holdEnd);
            synchronized (this) {
                // Registered and sent under one lock: no hold line for it can precede its watch line.
                watch.sent = holdEnd.getAsLong();
                watches.put(id, watch);
                send("watch " + id + " " + pid + " " + margin + " " + watch.sent);
            }
            String refused;
            try {
                refused = CompletableFuture.anyOf(watch.ack, gone)
                        .thenApply(x -> watch.ack.getNow("the exec supervisor died"))
                        .get(ACK_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                watch.close();
                log.error(
                        "The exec supervisor (pid {}) did not answer within {} s: replacing it",
                        process.pid(),
                        ACK_TIMEOUT.toSeconds());
                broken = true;
                process.destroyForcibly();
                throw new RunFailedException("the exec supervisor did not answer: the program was not started");
            } catch (ExecutionException e) {
                throw new IllegalStateException(e);
            } catch (InterruptedException e) {
                watch.close();
                throw e;
            }
            if (refused != null) {
                watch.close();
                throw new RunFailedException("the exec supervisor did not watch the program: " + refused);
            }
            return watch;
        }

        synchronized void send(String line) {
            try {
                in.write(line + "\n");
                in.flush();
            } catch (IOException e) {
                // It is gone: its reader sees the end of its output.
            }
        }

        /** Dispatches the supervisor's answers; its end means it died. */
        private void read() {
            try (BufferedReader out =
                    new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    long arrived = System.nanoTime();
                    String[] words = line.split(" ");
                    Watch watch = words.length > 1 && words[1].matches("[0-9]{1,18}")
                            ? watches.get(Long.parseLong(words[1]))
                            : null;
                    switch (words[0]) {
                        case "hello" -> hellos.add(new long[] {Long.parseLong(words[1]), arrived});
                        case "watching" -> {
                            if (watch != null) {
                                watch.ack.complete(null);
                            }
                        }
                        case "refused" -> {
                            if (watch != null) {
                                watch.ack.complete(
                                        String.join(" ", List.of(words).subList(2, words.length)));
                            }
                        }
                        case "signal" -> {
                            if (watch != null && words.length == 3) {
                                watch.signals.add("SIG" + words[2]);
                            }
                        }
                        default -> log.warn("Exec supervisor (pid {}) said: {}", process.pid(), line);
                    }
                }
            } catch (IOException | RuntimeException e) {
                log.warn("Reading the exec supervisor (pid {}) failed: {}", process.pid(), e.toString());
            }
            process.destroyForcibly();
            String what = "the exec supervisor (pid " + process.pid() + ") died";
            if (!watches.isEmpty()) {
                log.error("{} while watching {} exec run(s): this JVM stops them itself", what, watches.size());
            }
            gone.complete(null);
            watches.values().forEach(w -> w.lost.complete(what));
        }

        /** The supervisor's stderr, into this service's log. */
        private void log() {
            try (BufferedReader err =
                    new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = err.readLine()) != null) {
                    log.warn("Exec supervisor (pid {}): {}", process.pid(), line);
                }
            } catch (IOException e) {
                // It is gone.
            }
        }

        /** Sends each watched run's hold end when it moved (later with a renewal, earlier with a lost session). */
        private void push() {
            while (!dead()) {
                for (Watch watch : watches.values()) {
                    long end = watch.holdEnd.getAsLong();
                    synchronized (this) {
                        if (end != watch.sent && watches.containsKey(watch.id)) {
                            watch.sent = end;
                            send("hold " + watch.id + " " + end);
                        }
                    }
                }
                try {
                    Thread.sleep(PUSH_PERIOD);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        @Override
        public void close() {
            try {
                in.close();
            } catch (IOException e) {
                // Already gone.
            }
            try {
                if (!process.waitFor(2, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}

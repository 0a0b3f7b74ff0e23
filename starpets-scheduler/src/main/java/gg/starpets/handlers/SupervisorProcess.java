package gg.starpets.handlers;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
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
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link ExecSupervisor} process as the service sees it: the protocol's writing side, a thread
 * reading its answers (their end: it died), one logging its stderr, and one sending the hold ends
 * of watched runs when they move. Started by {@link ExecSupervision}.
 */
final class SupervisorProcess implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SupervisorProcess.class);

    final Process process;
    private final Writer in;
    final Map<Long, Watch> watches = new ConcurrentHashMap<>();
    private final BlockingQueue<long[]> hellos = new LinkedBlockingQueue<>();
    private final CompletableFuture<Void> gone = new CompletableFuture<>();
    /** It did not answer in time and is being replaced. */
    private volatile boolean broken;

    SupervisorProcess(Process process) {
        this.process = process;
        this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        String pid = String.valueOf(process.pid());
        Thread.ofPlatform().daemon().name("starpets-exec-supervisor-" + pid).start(this::read);
        Thread.ofPlatform().daemon().name("starpets-exec-supervisor-log-" + pid).start(this::log);
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

    Watch watch(long id, long pid, long margin, LongSupplier holdEnd) throws RunFailedException, InterruptedException {
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
                    .get(ExecSupervision.ACK_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            watch.close();
            log.error(
                    "The exec supervisor (pid {}) did not answer within {} s: replacing it",
                    process.pid(),
                    ExecSupervision.ACK_TIMEOUT.toSeconds());
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
                            watch.ack.complete(String.join(" ", List.of(words).subList(2, words.length)));
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
                Thread.sleep(ExecSupervision.PUSH_PERIOD);
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

    /** One run's group under watch. */
    static final class Watch implements AutoCloseable {
        final long id;
        private final SupervisorProcess supervisor;
        private final LongSupplier holdEnd;
        private final CompletableFuture<String> ack = new CompletableFuture<>();
        /** Completes, with what happened, if the supervisor dies while watching. */
        final CompletableFuture<String> lost = new CompletableFuture<>();
        /** What the supervisor did to the group (SIGTERM/SIGKILL at the hold's end). */
        private final List<String> signals = new CopyOnWriteArrayList<>();
        /** How long {@link #signals} waits for the supervisor's word: it answers in milliseconds. */
        private static final Duration SIGNALS_WAIT = Duration.ofMillis(100);

        private long sent;

        private Watch(long id, SupervisorProcess supervisor, LongSupplier holdEnd) {
            this.id = id;
            this.supervisor = supervisor;
            this.holdEnd = holdEnd;
        }

        /**
         * The signals the supervisor sent the group. It says so before signalling, so for a program
         * that ended by a signal a round trip ({@code ask}) brings its word.
         */
        List<String> signals(boolean ask) throws InterruptedException {
            if (ask && !supervisor.dead()) {
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
}

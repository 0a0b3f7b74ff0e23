package gg.starpets.handlers;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

/**
 * The exec supervisor: a small process of its own, one per instance, that ends the programs of
 * {@code exec} runs when the service cannot: when the service's JVM dies (SIGKILL, out of memory,
 * halt), and when it stops renewing a run's hold (frozen by SIGSTOP or a long GC pause, cut off from
 * the database). Started by {@link ExecSupervision} with the service's own {@code java} and these
 * classes, JDK only.
 *
 * <p>Its stdin and stdout are a line protocol with the service:
 * <pre>
 * hello                                    → hello NANOTIME
 * watch ID PID MARGIN_NANOS HOLD_END_NANOS → watching ID | refused ID REASON
 * hold ID HOLD_END_NANOS                   (the run's hold end moved; the latest one counts)
 * done ID                                  (the run is over: forget its group)
 *                                          ← signal ID TERM|KILL (sent before the signal)
 * </pre>
 * Times are absolute, on the monotonic clock that {@link System#nanoTime()} reads in both processes
 * (checked at {@code hello}): a message written late, after a freeze of the service, can never
 * extend a hold. For each watched group: SIGTERM to its processes at hold end − margin, SIGKILL at
 * hold end − margin / 2 ({@link #killAt}), then it is forgotten. End of stdin (the service is gone):
 * SIGKILL to every watched group at once, then exit. A group found empty (the service had no time
 * to say {@code done}) is forgotten too, so that a number the kernel gives out again later is never
 * signalled.
 */
final class ExecSupervisor {

    /** How often each watched group is looked at: its number is never given out again meanwhile. */
    static final Duration CHECK = Duration.ofMillis(500);
    /** Scans of /proc after the start, enough for the compiler to take the kill path's loops (one: 50 ms cold, 4 ms warm). */
    private static final int WARM_UP_ROUNDS = 30;
    /** How long SIGKILL rounds may go on for one group. */
    private static final Duration KILL_LIMIT = Duration.ofSeconds(2);

    private final PrintStream out;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<String, Watched> watched = new HashMap<>();
    /** Only the stdin thread reads and sets it. */
    private boolean warmingUp;

    private static final class Watched {
        final String id;
        final ProcessTree tree;
        final long margin;
        long holdEnd;
        boolean termSent;
        long nextCheck;

        Watched(String id, ProcessTree tree, long margin, long holdEnd) {
            this.id = id;
            this.tree = tree;
            this.margin = margin;
            this.holdEnd = holdEnd;
            this.nextCheck = System.nanoTime() + CHECK.toNanos();
        }

        long termAt() {
            return holdEnd - margin;
        }
    }

    private ExecSupervisor(PrintStream out) {
        this.out = out;
    }

    /** SIGKILL this long before the hold ends: what the supervisor's wake-up and the kill may take. */
    static long killAt(long holdEnd, long margin) {
        return holdEnd - margin / 2;
    }

    /** The classes the supervisor process needs, besides the JDK's. */
    static List<Class<?>> classes() {
        List<Class<?>> classes = new ArrayList<>();
        classes.addAll(List.of(ExecSupervisor.class.getNestMembers()));
        classes.addAll(List.of(ProcessTree.class.getNestMembers()));
        return classes;
    }

    /** @param args the directory its classes were copied to: deleted once they are loaded */
    public static void main(String[] args) {
        classes();
        if (args.length > 0) {
            try {
                deleteTree(Path.of(args[0]));
            } catch (IOException e) {
                System.err.println("starpets exec supervisor: could not delete " + args[0] + ": " + e);
            }
        }
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        new ExecSupervisor(out).serve(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
    }

    /**
     * Runs the kill path on nothing, again and again, on a thread of its own after the first answer:
     * its classes loaded, its call sites linked and its loops compiled, it takes a few milliseconds
     * when the service dies, not tens of them. The tree is this process's own session (it leads
     * it), in which there is no process but this one, never signalled.
     */
    private static void warmUp() {
        long self = ProcessHandle.current().pid();
        ProcessTree tree = new ProcessTree(
                ProcessHandle.current(), ProcessTree.groupOf(self).orElse(-1L) == self);
        for (int i = 0; i < WARM_UP_ROUNDS; i++) {
            killAll(List.of());
            tree.kill(Duration.ZERO);
            tree.isGone();
        }
    }

    private void serve(BufferedReader in) {
        Thread timer = new Thread(this::enforceOrDie, "starpets-exec-supervisor");
        timer.setDaemon(true);
        timer.start();
        try {
            String line;
            while ((line = in.readLine()) != null) {
                try {
                    handle(line.split(" "));
                } catch (RuntimeException e) {
                    System.err.println("starpets exec supervisor: cannot read '" + line + "': " + e);
                }
            }
        } catch (IOException e) {
            System.err.println("starpets exec supervisor: reading stdin failed: " + e);
        }
        // The service is gone: nothing may outlive it, nor wait for a hold it can no longer renew.
        List<Watched> all;
        lock.lock();
        try {
            all = List.copyOf(watched.values());
            watched.clear();
        } finally {
            lock.unlock();
        }
        killAll(all);
        System.exit(0);
    }

    /** SIGKILL to every program first (no scan), then to the rest of each run. */
    private static void killAll(List<Watched> all) {
        all.forEach(w -> w.tree.killProgram());
        all.forEach(w -> w.tree.kill(KILL_LIMIT));
    }

    private void handle(String[] words) {
        switch (words[0]) {
            case "hello" -> {
                send("hello " + System.nanoTime());
                if (!warmingUp) {
                    warmingUp = true;
                    Thread warmUp = new Thread(ExecSupervisor::warmUp, "starpets-exec-supervisor-warm-up");
                    warmUp.setDaemon(true);
                    warmUp.start();
                }
            }
            case "watch" ->
                watch(words[1], Long.parseLong(words[2]), Long.parseLong(words[3]), Long.parseLong(words[4]));
            case "hold" -> update(words[1], Long.parseLong(words[2]));
            case "done" -> update(words[1], null);
            default -> System.err.println("starpets exec supervisor: unknown command " + words[0]);
        }
    }

    private void watch(String id, long pid, long margin, long holdEnd) {
        // The program must lead a group of its own (setsid done), else its group is not the run's.
        var leader = ProcessHandle.of(pid);
        if (leader.isEmpty() || ProcessTree.groupOf(pid).orElse(-1L) != pid) {
            send("refused " + id + " process " + pid + " is gone or leads no group of its own");
            return;
        }
        lock.lock();
        try {
            watched.put(id, new Watched(id, new ProcessTree(leader.get(), true), margin, holdEnd));
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        send("watching " + id);
    }

    /** A new hold end for a run; null: the run is over. */
    private void update(String id, Long holdEnd) {
        lock.lock();
        try {
            if (holdEnd == null) {
                watched.remove(id);
            } else {
                Watched w = watched.get(id);
                if (w != null) {
                    w.holdEnd = holdEnd;
                    // Renewed past its SIGTERM time (a pause shorter than the hold): SIGTERM again next time.
                    w.termSent &= System.nanoTime() - w.termAt() >= 0;
                }
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** In the order they are done when due together: kills first, they are the ones with a deadline. */
    private enum Action {
        KILL,
        TERM,
        CHECK
    }

    private record Due(Watched watched, Action action) {}

    /** A supervisor that cannot keep time must not look alive: the service then stops its runs itself. */
    private void enforceOrDie() {
        try {
            enforce();
        } catch (Throwable e) {
            System.err.println("starpets exec supervisor: its timer failed: " + e);
            Runtime.getRuntime().halt(1);
        }
    }

    /** The timer thread: signals what is due, then sleeps until the next thing is. */
    private void enforce() {
        while (true) {
            List<Due> due = new ArrayList<>();
            lock.lock();
            try {
                long now = System.nanoTime();
                long next = now + CHECK.toNanos();
                for (Watched w : watched.values()) {
                    long killAt = killAt(w.holdEnd, w.margin);
                    if (now - killAt >= 0) {
                        due.add(new Due(w, Action.KILL));
                        continue;
                    }
                    next = earliest(next, killAt);
                    if (!w.termSent) {
                        if (now - w.termAt() >= 0) {
                            w.termSent = true;
                            due.add(new Due(w, Action.TERM));
                        } else {
                            next = earliest(next, w.termAt());
                        }
                    }
                    if (now - w.nextCheck >= 0) {
                        w.nextCheck = now + CHECK.toNanos();
                        due.add(new Due(w, Action.CHECK));
                    }
                    next = earliest(next, w.nextCheck);
                }
                due.stream().filter(d -> d.action == Action.KILL).forEach(d -> watched.remove(d.watched.id));
                if (due.isEmpty()) {
                    changed.awaitNanos(next - now);
                    continue;
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException("interrupted", e);
            } finally {
                lock.unlock();
            }
            due.sort(Comparator.comparing(Due::action));
            due.forEach(this::act);
        }
    }

    private void act(Due due) {
        // No switch on the enum: javac would add a class of its own for it.
        Watched w = due.watched;
        // Said first: the service, once it sees its program end, can ask (hello) and then know why.
        if (due.action == Action.KILL) {
            send("signal " + w.id + " KILL");
            w.tree.kill(KILL_LIMIT);
        } else if (due.action == Action.TERM) {
            send("signal " + w.id + " TERM");
            w.tree.signalTerm();
        } else if (w.tree.isGone()) {
            update(w.id, null);
        }
    }

    private static long earliest(long a, long b) {
        return b - a < 0 ? b : a;
    }

    private synchronized void send(String line) {
        out.print(line + "\n");
        out.flush();
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}

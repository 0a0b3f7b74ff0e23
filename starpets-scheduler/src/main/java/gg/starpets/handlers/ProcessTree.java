package gg.starpets.handlers;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The processes of one {@code exec} run, and how they are stopped: SIGTERM to all, SIGKILL to what is
 * left once a deadline has come.
 *
 * <p>The program is started through {@code setsid}, so it leads a process group of its own that its
 * children and grandchildren join (also once orphaned). The run's processes are the program, its
 * descendants (found through the parent links while they last, even in another group), and every
 * process still in its group (found in {@code /proc}). Not covered: a process that both left the
 * group (setsid, as daemons do) and lost its parent before the stop: nothing links it to the run
 * any more. Without {@code setsid} or {@code /proc} (not Linux) only the program and its live
 * descendants are found.
 *
 * <p>JDK-only: the {@link ExecSupervisor} process uses it too, with the classes it was started with.
 * Signals go through {@link ProcessHandle}, which checks a process's start time before signalling
 * it: a pid reused since it was found is never signalled.
 */
final class ProcessTree {

    private static final Path PROC = Path.of("/proc");
    private static final long TERM_POLL_NANOS = Duration.ofMillis(50).toNanos();
    /** SIGKILL takes effect within microseconds; a process still there is looked at again soon. */
    private static final long KILL_POLL_NANOS = Duration.ofMillis(1).toNanos();

    /** How many processes got each signal. */
    record Stop(int terminated, int killed) {}

    private final ProcessHandle root;
    private final long group;

    /**
     * @param root the program (or the shell that becomes it)
     * @param ownGroup whether the program was started through {@link #launcher()}, i.e. leads its own group
     */
    ProcessTree(ProcessHandle root, boolean ownGroup) {
        this.root = root;
        // setsid(1) makes the program a session and group leader without forking (its parent is no
        // group leader), so the group's id is the program's pid. Linux frees a number only once no
        // process uses it as pid or group id, so scanning for the group finds only this run's
        // processes while one of them lives.
        this.group = ownGroup ? root.pid() : -1;
    }

    /** The command that puts the program in a process group of its own; empty where there is none. */
    static List<String> launcher() {
        if (!Files.isDirectory(PROC)) {
            return List.of();
        }
        for (String path : List.of("/usr/bin/setsid", "/bin/setsid")) {
            if (Files.isExecutable(Path.of(path))) {
                return List.of(path);
            }
        }
        return List.of();
    }

    long group() {
        return group;
    }

    /** The group of a process, from /proc; empty if it is gone. */
    static Optional<Long> groupOf(long pid) {
        return status(pid).map(Status::group);
    }

    /**
     * SIGTERM to every process of the run; once all are gone, or once {@code killAt} (on
     * {@link System#nanoTime()}, asked again at each look: it may move earlier) has come, or at once
     * if the calling thread is interrupted meanwhile, SIGKILL to any left. Returns when none is left,
     * or after {@code killLimit} of SIGKILL rounds. Keeps the caller's interrupt.
     */
    Stop terminate(LongSupplier killAt, Duration killLimit) {
        Map<Long, ProcessHandle> signalled = new HashMap<>();
        boolean interrupted = Thread.interrupted();
        while (true) {
            Map<Long, ProcessHandle> alive = alive(signalled);
            if (alive.isEmpty()) {
                restore(interrupted);
                return new Stop(signalled.size(), 0);
            }
            // Processes forked meanwhile (a trap handler's cleanup) get their SIGTERM too.
            alive.forEach((pid, p) -> {
                if (signalled.putIfAbsent(pid, p) == null) {
                    p.destroy();
                }
            });
            long left = killAt.getAsLong() - System.nanoTime();
            if (interrupted || left <= 0) {
                break;
            }
            interrupted = pause(Math.min(TERM_POLL_NANOS, left));
        }
        int killed = kill(signalled, killLimit);
        restore(interrupted);
        return new Stop(signalled.size(), killed);
    }

    /** SIGTERM once to every process of the run alive now; returns how many. */
    int signalTerm() {
        Map<Long, ProcessHandle> alive = alive(Map.of());
        alive.values().forEach(ProcessHandle::destroy);
        return alive.size();
    }

    /** SIGKILL to the program alone, at once, without looking for the rest: first, when time is short. */
    void killProgram() {
        root.destroyForcibly();
    }

    /** SIGKILL to every process of the run, until none is left or after {@code limit}; returns how many got it. */
    int kill(Duration limit) {
        boolean interrupted = Thread.interrupted();
        int killed = kill(new HashMap<>(), limit);
        restore(interrupted);
        return killed;
    }

    /**
     * Whether no process of the run is left. Cheap while the program lives and still leads its group
     * (one file read); otherwise a scan of /proc.
     */
    boolean isGone() {
        if (group > 0
                && root.isAlive()
                && status(root.pid()).filter(s -> s.group == group && !s.zombie).isPresent()) {
            return false;
        }
        return alive(Map.of()).isEmpty();
    }

    /** SIGKILL rounds; an interrupt meanwhile is kept, not obeyed: the processes must go. */
    private int kill(Map<Long, ProcessHandle> known, Duration limit) {
        Set<Long> killed = new HashSet<>();
        long deadline = System.nanoTime() + limit.toNanos();
        boolean interrupted = false;
        while (true) {
            Map<Long, ProcessHandle> alive = alive(known);
            if (alive.isEmpty() || System.nanoTime() - deadline > 0) {
                restore(interrupted);
                return killed.size();
            }
            for (ProcessHandle p : alive.values()) {
                p.destroyForcibly();
                killed.add(p.pid());
                known.putIfAbsent(p.pid(), p);
            }
            interrupted |= pause(KILL_POLL_NANOS);
        }
    }

    /** The run's processes that are alive now, with those already signalled that still are. */
    private Map<Long, ProcessHandle> alive(Map<Long, ProcessHandle> known) {
        Map<Long, ProcessHandle> found = new HashMap<>(known);
        if (root.isAlive()) {
            found.put(root.pid(), root);
            root.descendants().forEach(p -> found.put(p.pid(), p));
        }
        if (group > 0) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(PROC, "[0-9]*")) {
                for (Path dir : dirs) {
                    long pid = Long.parseLong(dir.getFileName().toString());
                    if (!found.containsKey(pid)
                            && status(pid).filter(s -> s.group == group).isPresent()) {
                        ProcessHandle.of(pid).ifPresent(p -> found.put(pid, p));
                    }
                }
            } catch (IOException | RuntimeException e) {
                // /proc unreadable: the program and its descendants are all that is known.
            }
        }
        // Never this process (nor, in the supervisor, the service that started it).
        found.remove(ProcessHandle.current().pid());
        ProcessHandle.current().parent().ifPresent(p -> found.remove(p.pid()));
        found.values()
                .removeIf(
                        p -> !p.isAlive() || status(p.pid()).map(s -> s.zombie).orElse(false));
        return found;
    }

    private record Status(long group, boolean zombie) {}

    /** A process's group and whether it is a zombie (dead, not yet reaped), from /proc/PID/stat. */
    private static Optional<Status> status(long pid) {
        try {
            String stat = Files.readString(PROC.resolve(Long.toString(pid)).resolve("stat"));
            // "pid (command) state ppid pgrp ...": the command may hold spaces and parentheses.
            int state = stat.lastIndexOf(')') + 2;
            int ppid = stat.indexOf(' ', state) + 1;
            int pgrp = stat.indexOf(' ', ppid) + 1;
            long group = Long.parseLong(stat, pgrp, stat.indexOf(' ', pgrp), 10);
            return Optional.of(new Status(group, stat.charAt(state) == 'Z'));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Sleeps; true if interrupted meanwhile (the interrupt is then cleared). */
    private static boolean pause(long nanos) {
        try {
            Thread.sleep(Duration.ofNanos(nanos));
            return false;
        } catch (InterruptedException e) {
            return true;
        }
    }

    private static void restore(boolean interrupted) {
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}

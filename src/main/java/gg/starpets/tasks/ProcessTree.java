package gg.starpets.tasks;

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

/**
 * The processes of one {@code exec} run, and how they are stopped: SIGTERM to all, SIGKILL to what is
 * left after a grace period.
 *
 * <p>The program is started through {@code setsid}, so it leads a process group of its own that its
 * children and grandchildren join (also once orphaned). The run's processes are the program, its
 * descendants (found through the parent links while they last, even in another group), and every
 * process still in its group (found in {@code /proc}). Not covered: a process that both left the
 * group (setsid, as daemons do) and lost its parent before the stop: nothing links it to the run
 * any more. Without {@code setsid} or {@code /proc} (not Linux) only the program and its live
 * descendants are found.
 */
final class ProcessTree {

    private static final Path PROC = Path.of("/proc");
    private static final Duration POLL = Duration.ofMillis(50);
    private static final int KILL_ROUNDS = 40;

    /** How many processes got each signal. */
    record Stop(int terminated, int killed) {}

    private final Process process;
    private final long group;

    /**
     * @param ownGroup whether the program was started through {@link #launcher()}, i.e. leads its own group
     */
    ProcessTree(Process process, boolean ownGroup) {
        this.process = process;
        // setsid(1) makes the program a session and group leader without forking (its parent, the JVM,
        // is no group leader), so the group's id is the program's pid. A pid stays reserved while it
        // names a group: scanning for it can never find another run's or this JVM's processes.
        this.group = ownGroup ? process.pid() : -1;
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

    /**
     * SIGTERM to every process of the run; once all are gone, or after {@code grace} (at once if the
     * calling thread is interrupted meanwhile), SIGKILL to any left. Returns when none is left, or
     * after a bounded number of SIGKILL rounds. Keeps the caller's interrupt.
     */
    Stop terminate(Duration grace) {
        Map<Long, ProcessHandle> signalled = new HashMap<>();
        boolean interrupted = Thread.interrupted();
        long deadline = System.nanoTime() + grace.toNanos();
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
            if (interrupted || System.nanoTime() >= deadline) {
                break;
            }
            interrupted = pause();
        }
        Set<Long> killed = new HashSet<>();
        for (int round = 0; round < KILL_ROUNDS; round++) {
            Map<Long, ProcessHandle> alive = alive(signalled);
            if (alive.isEmpty()) {
                break;
            }
            for (ProcessHandle p : alive.values()) {
                p.destroyForcibly();
                killed.add(p.pid());
                signalled.putIfAbsent(p.pid(), p);
            }
            interrupted |= pause();
        }
        restore(interrupted);
        return new Stop(signalled.size(), killed.size());
    }

    /** The run's processes that are alive now, with those already signalled that still are. */
    private Map<Long, ProcessHandle> alive(Map<Long, ProcessHandle> known) {
        Map<Long, ProcessHandle> found = new HashMap<>();
        known.forEach((pid, p) -> found.put(pid, p));
        if (process.isAlive()) {
            found.put(process.pid(), process.toHandle());
            process.descendants().forEach(p -> found.put(p.pid(), p));
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
            } catch (IOException e) {
                // /proc unreadable: the program and its descendants are all that is known.
            }
        }
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
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Optional.of(new Status(Long.parseLong(fields[2]), fields[0].equals("Z")));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static boolean pause() {
        try {
            Thread.sleep(POLL);
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

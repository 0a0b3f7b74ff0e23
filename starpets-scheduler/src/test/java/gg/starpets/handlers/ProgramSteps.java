package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What the witness program of {@link ExecHostProcess#witness} wrote ("child PID", then "PID TIME"
 * lines), and whether processes are gone: judged outside the JVM that ran the program.
 */
public final class ProgramSteps {

    private ProgramSteps() {}

    /** A step of the witness program: its pid and the wall-clock time, in nanoseconds. */
    public record Step(long pid, long wallNanos) {}

    public static List<Step> steps(Path file) throws IOException {
        if (!Files.exists(file)) {
            return List.of();
        }
        return Files.readAllLines(file).stream()
                .filter(l -> l.matches("[0-9]+ [0-9]+"))
                .map(l -> new Step(Long.parseLong(l.split(" ")[0]), Long.parseLong(l.split(" ")[1])))
                .toList();
    }

    /** Waits until the program took {@code count} steps; returns its pid and its child's. */
    public static List<Long> awaitSteps(Path file, int count, Duration limit) throws IOException {
        await().atMost(limit).until(() -> steps(file).size() >= count);
        List<Long> pids = new ArrayList<>();
        pids.add(steps(file).getFirst().pid());
        Files.readAllLines(file).stream()
                .filter(l -> l.startsWith("child "))
                .forEach(l -> pids.add(Long.parseLong(l.substring(6))));
        assertThat(pids).hasSize(2);
        return pids;
    }

    /** Gone: no such process, or a zombie waiting to be reaped (it runs nothing any more). */
    public static boolean gone(long pid) {
        char state = state(pid);
        return state == 'Z' || state == '-';
    }

    /** Stopped (state T): a SIGSTOP has taken effect. */
    public static boolean stopped(long pid) {
        return state(pid) == 'T';
    }

    /** A process's state letter in /proc/PID/stat; '-' if there is no such process. */
    private static char state(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2);
        } catch (IOException e) {
            return '-';
        }
    }

    /**
     * Waits until {@code holdEnd} (monotonic) has passed, then asserts that the run's processes are
     * gone and that the program's last step (wall clock) came before it.
     */
    public static void assertEndedBefore(long holdEnd, Path file, List<Long> pids, Duration limit) throws IOException {
        long offset = wallMinusMonotonic();
        await().atMost(limit).until(() -> System.nanoTime() - holdEnd > 0);
        assertThat(pids).as("processes of the run at the end of its hold").allMatch(ProgramSteps::gone);
        assertThat(steps(file).getLast().wallNanos())
                .as("the program's last step, before the hold's end")
                .isLessThan(holdEnd + offset);
    }

    /** Wall clock minus monotonic clock, in nanoseconds: maps the program's times onto a hold's. */
    public static long wallMinusMonotonic() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano() - System.nanoTime();
    }
}

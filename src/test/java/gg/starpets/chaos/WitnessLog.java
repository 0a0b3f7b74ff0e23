package gg.starpets.chaos;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Reads what the witness handlers wrote ({@code tasks.WitnessHandler}): one file per process, one
 * line per step and one when a handler returned. A line cut short by a SIGKILL is ignored.
 */
final class WitnessLog {

    /** One line: a step taken, or the handler's return ({@code end}, with how it ended). */
    record Event(
            long micros, boolean end, String task, long runId, long fence, long pid, String instance, String outcome) {

        static Event step(long micros, String task, long runId, long pid) {
            return new Event(micros, false, task, runId, 0, pid, "p" + pid, "");
        }

        static Event end(long micros, String task, long runId, long pid, String outcome) {
            return new Event(micros, true, task, runId, 0, pid, "p" + pid, outcome);
        }
    }

    private WitnessLog() {}

    static Event parse(String line) {
        String[] f = line.split("\t", -1);
        if (f.length < 7 || !(f[1].equals("step") || f[1].equals("end"))) {
            throw new IllegalArgumentException("not a witness line: " + line);
        }
        return new Event(
                Long.parseLong(f[0]),
                f[1].equals("end"),
                f[2],
                Long.parseLong(f[3]),
                Long.parseLong(f[4]),
                Long.parseLong(f[5]),
                f[6],
                f.length > 7 ? f[7] : "");
    }

    /** Every event in every witness file of {@code dir}. */
    static List<Event> readAll(Path dir) {
        Tail tail = new Tail(dir);
        return tail.poll();
    }

    /**
     * Follows the witness files as they grow, returning only complete lines not returned before, and
     * keeping the last step seen of each run and the last progress of each task (what the suite's settle check needs).
     */
    static final class Tail {

        private final Path dir;
        private final Map<Path, Long> offsets = new HashMap<>();
        private final Map<Long, Long> lastStepOfRun = new HashMap<>();
        private final Map<String, Long> lastProgressOfTask = new HashMap<>();
        private final Map<String, Event> lastEventOfTask = new HashMap<>();

        Tail(Path dir) {
            this.dir = dir;
        }

        synchronized List<Event> poll() {
            List<Event> events = new ArrayList<>();
            for (Path file : files()) {
                long offset = offsets.getOrDefault(file, 0L);
                try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
                    long length = f.length();
                    if (length <= offset) {
                        continue;
                    }
                    byte[] bytes = new byte[Math.toIntExact(length - offset)];
                    f.seek(offset);
                    f.readFully(bytes);
                    int lastNewline = lastIndexOf(bytes, (byte) '\n');
                    if (lastNewline < 0) {
                        continue;
                    }
                    String text = new String(bytes, 0, lastNewline, StandardCharsets.UTF_8);
                    for (String line : text.split("\n")) {
                        if (!line.isBlank()) {
                            events.add(parse(line));
                        }
                    }
                    offsets.put(file, offset + lastNewline + 1);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            for (Event e : events) {
                if (!e.end()) {
                    lastStepOfRun.merge(e.runId(), e.micros(), Math::max);
                }
                if (!e.end() || e.outcome().equals("done")) {
                    lastProgressOfTask.merge(e.task(), e.micros(), Math::max);
                }
                lastEventOfTask.merge(e.task(), e, (a, b) -> b.micros() >= a.micros() ? b : a);
            }
            return events;
        }

        /** The last step of this run seen so far, or 0. */
        synchronized long lastStepOfRun(long runId) {
            return lastStepOfRun.getOrDefault(runId, 0L);
        }

        /** The last step, or finished run ("done"), of this task seen so far, or 0. */
        synchronized long lastProgressOfTask(String task) {
            return lastProgressOfTask.getOrDefault(task, 0L);
        }

        /** The latest line of this task seen so far (a step, or a handler's return), or null. */
        synchronized Event lastEventOfTask(String task) {
            return lastEventOfTask.get(task);
        }

        private List<Path> files() {
            if (!Files.isDirectory(dir)) {
                return List.of();
            }
            try (Stream<Path> s = Files.list(dir)) {
                return s.filter(p -> p.getFileName().toString().startsWith("witness-"))
                        .sorted()
                        .toList();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static int lastIndexOf(byte[] bytes, byte b) {
            for (int i = bytes.length - 1; i >= 0; i--) {
                if (bytes[i] == b) {
                    return i;
                }
            }
            return -1;
        }
    }
}

package gg.starpets.chaos;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongPredicate;
import java.util.stream.Stream;

/**
 * Reads what the witnesses wrote, one tab-separated line per event, in files named {@code witness-*}:
 * the in-JVM handler ({@code handlers.WitnessHandler}: one file per process), the exec program
 * ({@code bench/chaos-exec-witness.sh}: one file per program) and the sql sampler ({@link SqlWitness}).
 * A line cut short by a SIGKILL is ignored.
 *
 * <p>{@code <epoch µs> step|end <task> <run id> <fence> <pid> <instance> <outcome>} and, from the
 * exec and sql witnesses, {@code <kind> <host pid> <execution>}: the JVM whose run it is, and what
 * identifies one execution (pids are reused: at most 32768 here).
 */
final class WitnessLog {

    /**
     * One line: a step taken, or an execution's end ({@code end}, with how it ended). {@code pid}: the
     * process that executes (the JVM, the program, the PostgreSQL backend); {@code host}: the JVM that
     * started it (0 if unknown).
     */
    record Event(
            long micros,
            boolean end,
            String task,
            long runId,
            long fence,
            long pid,
            String instance,
            String outcome,
            HandlerKind kind,
            long host,
            String execution) {

        /** A step of the in-JVM witness (tests). */
        static Event step(long micros, String task, long runId, long pid) {
            return witness(micros, false, task, runId, pid, "");
        }

        /** The in-JVM witness's return (tests). */
        static Event end(long micros, String task, long runId, long pid, String outcome) {
            return witness(micros, true, task, runId, pid, outcome);
        }

        private static Event witness(long micros, boolean end, String task, long runId, long pid, String outcome) {
            return new Event(
                    micros,
                    end,
                    task,
                    runId,
                    0,
                    pid,
                    "p" + pid,
                    outcome,
                    HandlerKind.WITNESS,
                    pid,
                    witnessId(runId, pid));
        }

        /** The line, as the exec and sql witnesses write it. */
        String line() {
            return String.join(
                            "\t",
                            Long.toString(micros),
                            end ? "end" : "step",
                            task,
                            Long.toString(runId),
                            Long.toString(fence),
                            Long.toString(pid),
                            instance,
                            outcome,
                            kind.id(),
                            Long.toString(host),
                            execution)
                    + "\n";
        }
    }

    /** Outcomes that mean the execution finished its work (not told to stop, not killed). */
    static boolean finishedItsWork(Event e) {
        return e.end() && (e.outcome().equals("done") || e.outcome().equals("committed"));
    }

    private WitnessLog() {}

    static String witnessId(long runId, long pid) {
        return "w:" + runId + ":" + pid;
    }

    static Event parse(String line) {
        String[] f = line.split("\t", -1);
        if (f.length < 7 || !(f[1].equals("step") || f[1].equals("end"))) {
            throw new IllegalArgumentException("not a witness line: " + line);
        }
        long runId = Long.parseLong(f[3]);
        long pid = Long.parseLong(f[5]);
        boolean extended = f.length >= 11;
        return new Event(
                Long.parseLong(f[0]),
                f[1].equals("end"),
                f[2],
                runId,
                Long.parseLong(f[4]),
                pid,
                f[6],
                f.length > 7 ? f[7] : "",
                extended ? HandlerKind.byId(f[8]) : HandlerKind.WITNESS,
                extended ? Long.parseLong(f[9]) : pid,
                extended ? f[10] : witnessId(runId, pid));
    }

    /** Every event in every witness file of {@code dir}. */
    static List<Event> readAll(Path dir) {
        return new Tail(dir).poll();
    }

    /**
     * Follows the witness files as they grow, returning only complete lines not returned before, and
     * keeping what the suite's settle check needs: the last step seen of each run, and per task and
     * host the last progress and the last event (so that a dead JVM's orphans can be told apart).
     */
    static final class Tail {

        private final Path dir;
        private final Map<Path, Long> offsets = new HashMap<>();
        private final Map<Long, Long> lastStepOfRun = new HashMap<>();
        private final Map<String, Map<Long, Long>> lastProgress = new HashMap<>();
        private final Map<String, Map<Long, Event>> lastEvent = new HashMap<>();

        Tail(Path dir) {
            this.dir = dir;
        }

        synchronized List<Event> poll() {
            List<Event> events = new ArrayList<>();
            for (Path file : files()) {
                long offset = offsets.getOrDefault(file, 0L);
                try {
                    if (Files.size(file) <= offset) {
                        continue;
                    }
                    readFrom(file, offset, events);
                } catch (NoSuchFileException e) {
                    // Gone since the listing: nothing of it to read.
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            for (Event e : events) {
                if (!e.end()) {
                    lastStepOfRun.merge(e.runId(), e.micros(), Math::max);
                }
                if (!e.end() || finishedItsWork(e)) {
                    lastProgress.computeIfAbsent(e.task(), k -> new HashMap<>()).merge(e.host(), e.micros(), Math::max);
                }
                lastEvent
                        .computeIfAbsent(e.task(), k -> new HashMap<>())
                        .merge(e.host(), e, (a, b) -> b.micros() >= a.micros() ? b : a);
            }
            return events;
        }

        private void readFrom(Path file, long offset, List<Event> events) throws IOException {
            try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
                long length = f.length();
                byte[] bytes = new byte[Math.toIntExact(length - offset)];
                f.seek(offset);
                f.readFully(bytes);
                int lastNewline = lastIndexOf(bytes, (byte) '\n');
                if (lastNewline < 0) {
                    return;
                }
                String text = new String(bytes, 0, lastNewline, StandardCharsets.UTF_8);
                for (String line : text.split("\n")) {
                    if (!line.isBlank()) {
                        events.add(parse(line));
                    }
                }
                offsets.put(file, offset + lastNewline + 1);
            }
        }

        /** The last step of this run seen so far, or 0. */
        synchronized long lastStepOfRun(long runId) {
            return lastStepOfRun.getOrDefault(runId, 0L);
        }

        /** The last step, or finished execution, of this task by a host that {@code live} accepts, or 0. */
        synchronized long lastProgressOfTask(String task, LongPredicate live) {
            return lastProgress.getOrDefault(task, Map.of()).entrySet().stream()
                    .filter(e -> live.test(e.getKey()))
                    .mapToLong(Map.Entry::getValue)
                    .max()
                    .orElse(0L);
        }

        /** The latest line of this task by a host that {@code live} accepts (a step, or an end), or null. */
        synchronized Event lastEventOfTask(String task, LongPredicate live) {
            Event latest = null;
            for (var e : lastEvent.getOrDefault(task, Map.of()).entrySet()) {
                if (live.test(e.getKey()) && (latest == null || e.getValue().micros() > latest.micros())) {
                    latest = e.getValue();
                }
            }
            return latest;
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

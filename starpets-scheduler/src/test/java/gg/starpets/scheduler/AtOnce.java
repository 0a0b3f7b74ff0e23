package gg.starpets.scheduler;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * How many runs were in progress at once: from the runs' recorded start and end times, and from the
 * chaos suite's witness (files the handlers write, outside the engine's tables). Judges the limits on
 * runs at once (concurrency groups, overlap ALLOW's max-concurrent).
 */
final class AtOnce {

    /**
     * How far a run's recorded start may precede the moment its claim saw its place free: the claim
     * records {@code now()}, its transaction's start, which PostgreSQL takes before the statement's
     * snapshot (after the parsing and planning of a long statement: milliseconds, more on a loaded
     * 2-core machine). A run's end committed in between is seen, so the recorded times of two runs
     * may overlap by that much although their places never did. The runs judged last 300 ms or more: a
     * place taken twice would overlap by far more.
     */
    static final Duration RECORDED_START_SLACK = Duration.ofMillis(100);

    private AtOnce() {}

    /** The most runs of the tasks named {@code like} in progress at once, from task_runs' start and end times. */
    static long recorded(SchedulerCluster cluster, String like) {
        return cluster.count("""
                select coalesce(max((select count(*) from task_runs o
                                      where o.task_name like '%1$s' and o.started_at <= r.started_at
                                        and coalesce(o.finished_at, 'infinity') > r.started_at + interval '%2$d ms')), 0)
                  from task_runs r where r.task_name like '%1$s' and r.started_at is not null
                """.formatted(like, RECORDED_START_SLACK.toMillis()));
    }

    /** The most runs at once the witness in {@code dir} saw: each run from its first step to its end line. */
    static int witnessed(Path dir) throws IOException {
        Map<String, long[]> runs = new HashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.toList()) {
                for (String line : Files.readAllLines(file)) {
                    String[] f = line.split("\t");
                    long[] span = runs.computeIfAbsent(f[3], k -> new long[] {Long.MAX_VALUE, Long.MAX_VALUE});
                    long at = Long.parseLong(f[0]);
                    if (f[1].equals("step")) {
                        span[0] = Math.min(span[0], at);
                    } else {
                        span[1] = at;
                    }
                }
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        List<long[]> events = new ArrayList<>(); // {time, +1 start / -1 end}, ends first at equal times
        runs.values().forEach(span -> {
            events.add(new long[] {span[0], 1});
            events.add(new long[] {span[1], -1});
        });
        events.sort((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        int now = 0;
        int most = 0;
        for (long[] e : events) {
            now += (int) e[1];
            most = Math.max(most, now);
        }
        return most;
    }
}

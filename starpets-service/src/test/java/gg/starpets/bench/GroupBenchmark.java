package gg.starpets.bench;

import gg.starpets.scheduler.GroupRepository;
import gg.starpets.scheduler.TaskHandler;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Concurrency groups under load (issue 22 item 6): 2,000 tasks in 20 groups of max-concurrent 3 on 3
 * instances, against the same 2,000 tasks in no group. Prints the highest concurrency seen per group,
 * measured from the runs' recorded start and end times (task_runs, not the engine's counters), start
 * lag p50/p99 (due time to handler entered) and starts per second. Not a test: run by
 * bench/groups.sh.
 */
public final class GroupBenchmark {

    private static final int TASKS = 2_000;
    private static final int GROUPS = 20;
    private static final int LIMIT = 3;

    private GroupBenchmark() {}

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        int runMs = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        System.out.println("| run | tasks | start lag p50 | p99 | starts/s | highest concurrency per group (limit "
                + LIMIT + ") |");
        System.out.println("|---|---|---|---|---|---|");
        measure(false, seconds, runMs);
        measure(true, seconds, runMs);
        System.exit(0);
    }

    private static void measure(boolean grouped, int seconds, int runMs) throws Exception {
        Map<Long, Instant> handlerStarts = new ConcurrentHashMap<>();
        // Each run's handler, from its entry to its return, by group: the concurrency that really ran.
        Map<String, List<long[]>> executed = new ConcurrentHashMap<>();
        TaskHandler handler = ctx -> {
            handlerStarts.put(ctx.runId(), Instant.now());
            long entered = System.nanoTime();
            try {
                Thread.sleep(runMs);
            } finally {
                String group = "group-"
                        + Integer.parseInt(
                                        ctx.taskName().substring(ctx.taskName().lastIndexOf('-') + 1))
                                % GROUPS;
                executed.computeIfAbsent(
                                group, g -> java.util.Collections.synchronizedList(new java.util.ArrayList<>()))
                        .add(new long[] {entered, System.nanoTime()});
            }
        };
        String prefix = grouped ? "grp" : "nogrp";
        try (SchedulerBenchmark.Cluster cluster = new SchedulerBenchmark.Cluster(
                3,
                prefix,
                TASKS,
                "1s",
                handler,
                d -> grouped
                        ? d.withConcurrencyGroup("group-"
                                + Integer.parseInt(d.name().substring(d.name().lastIndexOf('-') + 1)) % GROUPS)
                        : d)) {
            if (grouped) {
                try (var pool = cluster.pool(2)) {
                    GroupRepository groups = new GroupRepository(pool);
                    for (int g = 0; g < GROUPS; g++) {
                        groups.set("group-" + g, new GroupRepository.Limits(LIMIT, null), "bench");
                    }
                }
            }
            cluster.runFor(seconds);
            List<Double> lags = SchedulerBenchmark.lags(cluster, handlerStarts);
            double[] rate = cluster.query("""
                    with steady as (
                        select started_at from task_runs
                         where started_at > (select min(started_at) + interval '5 seconds' from task_runs)
                    )
                    select count(*), extract(epoch from max(started_at) - min(started_at)) from steady
                    """);
            // Each run from its recorded start to its recorded end (a run still going: to now); ends
            // before starts at equal times.
            Map<String, Long> highest = new TreeMap<>();
            cluster.rows("""
                    with ev as (
                        select t.concurrency_group as g, r.started_at as at, 1 as d
                          from task_runs r join tasks t on t.id = r.task_id
                         where r.started_at is not null and t.concurrency_group is not null
                        union all
                        select t.concurrency_group, coalesce(r.finished_at, 'infinity'), -1
                          from task_runs r join tasks t on t.id = r.task_id
                         where r.started_at is not null and t.concurrency_group is not null
                    )
                    select g, max(c) from (
                        select g, sum(d) over (partition by g order by at, d rows unbounded preceding) as c from ev) x
                     group by g
                    """, rs -> highest.put(rs.getString(1), rs.getLong(2)));
            long worst =
                    highest.values().stream().mapToLong(Long::longValue).max().orElse(0);
            Map<String, Integer> ran = new TreeMap<>();
            executed.forEach((g, spans) -> {
                List<long[]> events = new java.util.ArrayList<>();
                synchronized (spans) {
                    spans.forEach(x -> {
                        events.add(new long[] {x[0], 1});
                        events.add(new long[] {x[1], -1});
                    });
                }
                events.sort(
                        java.util.Comparator.<long[]>comparingLong(e -> e[0]).thenComparingLong(e -> e[1]));
                int live = 0;
                int most = 0;
                for (long[] e : events) {
                    live += (int) e[1];
                    most = Math.max(most, live);
                }
                ran.put(g, most);
            });
            int worstRan =
                    ran.values().stream().mapToInt(Integer::intValue).max().orElse(0);
            System.out.printf(
                    "| %s | %d, due every 1 s, runs of %d ms, 3 instances | %.1f ms | %.1f ms | %.0f | %s |%n",
                    grouped ? GROUPS + " groups of limit " + LIMIT : "no groups",
                    TASKS,
                    runMs,
                    lags.get((int) (lags.size() * 0.5)),
                    lags.get((int) (lags.size() * 0.99)),
                    rate[0] / rate[1],
                    grouped
                            ? "handlers (entry to return): max " + worstRan
                                    + (worstRan <= LIMIT ? " (<= limit)" : " (ABOVE THE LIMIT)") + " " + ran.values()
                                    + "; task_runs started_at/finished_at: max " + worst + " " + highest.values()
                            : "-");
        }
    }
}

package gg.starpets.bench;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.scheduler.OneOffRuns;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A backlog of one-off runs (issue 21 item 9, issue 25 item 4): {@code runs} one-off runs asked for
 * at once through the engine's command ({@link OneOffRuns#request}, the one {@code POST /tasks/{name}/runs}
 * calls; one request per run, there is no batch form), then drained by three scheduler instances in
 * one JVM on one embedded PostgreSQL; then the start lag of runs asked for a time a few seconds ahead.
 * A task runs one run at a time, so the backlog is spread over many tasks (up to 1,000, the runs evenly
 * over them). Prints markdown table rows. Not a test: run by bench/scheduler.sh.
 */
public final class OneOffBacklogBenchmark {

    /** Clients asking at once, each for its own tasks (no lock waits between them): as many API callers. */
    private static final int CLIENTS = 4;

    private static final int MOST_TASKS = 1_000;

    /** How far ahead the delayed runs are asked for: long enough that asking for all of them ends first. */
    private static final Duration AHEAD = Duration.ofSeconds(5);

    /** Bounds every wait, sized for a loaded 2-core machine (a drain at 200 runs/s still ends in it). */
    private static final Duration LONGEST_WAIT = Duration.ofMinutes(10);

    private static final String REQUEST_JSON = "{\"params\":null,\"at\":null}";

    private OneOffBacklogBenchmark() {}

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int tasks = Math.min(MOST_TASKS, runs);
        int perTask = runs / tasks;
        // The tasks' own schedules stay out of the way: their first run is a day ahead.
        Instant dayAhead = Instant.now().plus(Duration.ofDays(1));
        Map<Long, Instant> entered = new ConcurrentHashMap<>();
        try (var cluster = new SchedulerBenchmark.Cluster(
                        3,
                        "oneoff",
                        tasks,
                        "1h",
                        ctx -> entered.put(ctx.runId(), Instant.now()),
                        d -> d.withStartAt(dayAhead));
                HikariDataSource clients = cluster.pool(CLIENTS)) {
            OneOffRuns command = new OneOffRuns(clients);
            backlog(cluster, command, tasks, perTask);
            delayed(cluster, command, tasks, entered);
        }
        System.out.printf(
                "| command (one-off rows) | | | | | `bench/scheduler.sh 20 30 %d`, or alone on the script's classpath: `java -cp … gg.starpets.bench.OneOffBacklogBenchmark %d` |%n",
                runs, runs);
        System.exit(0);
    }

    /** Asks for {@code perTask} runs of each task, due now, with the instances stopped; then starts them. */
    private static void backlog(SchedulerBenchmark.Cluster cluster, OneOffRuns command, int tasks, int perTask)
            throws Exception {
        int total = tasks * perTask;
        long began = System.nanoTime();
        ask(command, tasks, perTask, null);
        double enqueueSeconds = (System.nanoTime() - began) / 1e9;
        System.out.printf(
                "| one-off runs asked for (OneOffRuns.request, one per run, %d clients at once, instances stopped) | %.0f /s | | | | %,d runs over %d tasks in %.1f s; each request locks its task, writes the PENDING run, moves next_request_at and the audit row |%n",
                CLIENTS, total / enqueueSeconds, total, tasks, enqueueSeconds);

        cluster.start();
        waitForEnded(cluster, "cause = 'MANUAL'", total);
        double[] drain = cluster.query("""
                select count(*), extract(epoch from max(finished_at) - min(started_at)),
                       count(*) filter (where status <> 'SUCCEEDED')
                  from task_runs where cause = 'MANUAL'
                """);
        List<String> shares = new ArrayList<>();
        cluster.rows("""
                select instance_id, round(100.0 * count(*) / sum(count(*)) over ()) from task_runs
                 where cause = 'MANUAL' group by 1 order by 1
                """, rs -> shares.add(rs.getLong(2) + " %"));
        double perSecond = drain[0] / drain[1];
        System.out.printf(
                "| backlog of %,d one-off runs drained, 3 instances (%d tasks x %d runs, no-op handler) | %.0f /s | | db-scheduler 5,416 /s (100,000 one-time tasks, lock-and-fetch, this machine) | %.2fx | %,d runs in %.1f s from first start to last end, %d not SUCCEEDED; runs per instance %s |%n",
                total,
                tasks,
                perTask,
                perSecond,
                perSecond / 5416,
                (long) drain[0],
                drain[1],
                (long) drain[2],
                String.join(" / ", shares));
    }

    /**
     * One run of each task asked for {@link #AHEAD} from now (the database's clock), the instances
     * idle; the lag is from the run's time (the database's clock) to its handler's entry as it recorded it
     * in {@code entered} (this JVM's wall clock: the same host's clock as the database's). A run claimed
     * ahead of its time records that time as its {@code started_at}: the handler's entry is the start.
     */
    private static void delayed(
            SchedulerBenchmark.Cluster cluster, OneOffRuns command, int tasks, Map<Long, Instant> entered)
            throws Exception {
        long lastBefore = (long) cluster.query("select coalesce(max(id), 0) from task_runs")[0];
        Instant at = Instant.ofEpochMilli((long) cluster.query("select extract(epoch from now()) * 1000")[0])
                .plus(AHEAD);
        long began = System.nanoTime();
        ask(command, tasks, 1, at);
        double enqueueSeconds = (System.nanoTime() - began) / 1e9;
        String these = "id > " + lastBefore;
        waitForEnded(cluster, these, tasks);
        List<Double> lags = new ArrayList<>();
        cluster.rows("select id, scheduled_for from task_runs where " + these, rs -> {
            Instant handlerEntered = entered.get(rs.getLong(1));
            if (handlerEntered != null) {
                lags.add(Duration.between(rs.getTimestamp(2).toInstant(), handlerEntered)
                                .toNanos()
                        / 1e6);
            }
        });
        Collections.sort(lags);
        System.out.printf(
                "| start lag of one-off runs asked for a time (due time -> handler entered), %d runs over %d tasks, 3 instances | %.1f ms | %.1f ms | | | %d runs, max %.1f ms; asked for %.0f s ahead, all asked in %.1f s |%n",
                tasks,
                tasks,
                lags.get(lags.size() / 2),
                lags.get((int) (lags.size() * 0.99)),
                lags.size(),
                lags.getLast(),
                (double) AHEAD.toSeconds(),
                enqueueSeconds);
    }

    /** {@code perTask} requests for each task at {@code at} (null: now), from {@link #CLIENTS} threads. */
    private static void ask(OneOffRuns command, int tasks, int perTask, Instant at) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        try {
            List<Future<?>> clients = new ArrayList<>();
            for (int client = 0; client < CLIENTS; client++) {
                int first = client;
                clients.add(pool.submit(() -> {
                    for (int round = 0; round < perTask; round++) {
                        for (int task = first; task < tasks; task += CLIENTS) {
                            command.request("oneoff-task-" + task, null, at, null, REQUEST_JSON, d -> {}, "bench");
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> client : clients) {
                client.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Waits, at most {@link #LONGEST_WAIT}, until {@code count} runs matching {@code where} have ended. */
    private static void waitForEnded(SchedulerBenchmark.Cluster cluster, String where, int count) throws Exception {
        String sql = "select count(*) from task_runs where finished_at is not null and " + where;
        long deadline = System.nanoTime() + LONGEST_WAIT.toNanos();
        while (cluster.query(sql)[0] < count) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not all " + count + " runs ended within " + LONGEST_WAIT);
            }
            Thread.sleep(200);
        }
    }
}

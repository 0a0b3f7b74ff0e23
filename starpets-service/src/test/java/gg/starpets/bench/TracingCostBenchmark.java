package gg.starpets.bench;

import gg.starpets.support.AppInstance;
import gg.starpets.support.OtlpReceiver;
import gg.starpets.support.TestPostgres;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

/**
 * What tracing costs the engine (issue 24 item 3): the same run workload on one instance of the service
 * (in this JVM, Spring and all, on a fresh database of the local PostgreSQL), with tracing off (no
 * {@code OTEL_EXPORTER_OTLP_ENDPOINT}) and then on (an OTLP/HTTP endpoint at a local receiver, every run
 * sampled, the exporter's shipped batching). Workload: {@code tasks} sleep tasks of 1 ms due every
 * second, for {@code seconds}. Prints markdown table rows: runs per second, and the start lag (due time
 * to the run's row, the claim's transaction time, database clock) p50 / p99, each mode, then on/off.
 * Not a test: run by bench/tracing.sh.
 */
public final class TracingCostBenchmark {

    /** The first seconds, while the instance settles and the first due times pile up, are left out. */
    private static final int WARM_UP_SECONDS = 5;

    private TracingCostBenchmark() {}

    record Result(double runsPerSecond, double p50, double p99, long runs, int spans) {}

    public static void main(String[] args) throws Exception {
        int tasks = args.length > 0 ? Integer.parseInt(args[0]) : 500;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        Result off = run(tasks, seconds, null);
        Result on;
        try (OtlpReceiver receiver = OtlpReceiver.start()) {
            on = run(tasks, seconds, receiver);
        }
        row("tracing off", tasks, off);
        row("tracing on (OTLP to a local receiver)", tasks, on);
        System.out.printf(
                "| on / off | %.2f x | %.2f x / %.2f x | | |%n",
                on.runsPerSecond() / off.runsPerSecond(), on.p50() / off.p50(), on.p99() / off.p99());
        System.exit(0);
    }

    private static void row(String mode, int tasks, Result r) {
        System.out.printf(
                "| %s, %d tasks due every second, 1 instance | %.0f /s | %.1f ms / %.1f ms | %d | %s |%n",
                mode, tasks, r.runsPerSecond(), r.p50(), r.p99(), r.runs(), r.spans() < 0 ? "" : r.spans());
    }

    private static Result run(int tasks, int seconds, OtlpReceiver receiver) throws Exception {
        Map<String, Object> props = new HashMap<>();
        for (int i = 0; i < tasks; i++) {
            props.putAll(AppInstance.task(i, "traced-" + i, "sleep", "1s", "1m", "1ms"));
        }
        // The service's own timings, not the tests' shortened ones.
        props.put("starpets.scheduler.heartbeat", "1s");
        props.put("starpets.scheduler.lease", "10s");
        if (receiver != null) {
            props.put("starpets.tracing.otlp-endpoint", receiver.endpoint());
        }
        String database = TestPostgres.createDatabase();
        try (AppInstance app = AppInstance.start(database, "bench-tracing", props)) {
            Thread.sleep((WARM_UP_SECONDS + seconds) * 1000L);
            DataSource db = app.context().getBean(DataSource.class);
            List<Double> lags = new ArrayList<>();
            double[] steady = {0, 0};
            try (var c = db.getConnection();
                    var st = c.createStatement()) {
                String window = "started_at > (select min(started_at) from task_runs) + interval '" + WARM_UP_SECONDS
                        + " seconds'";
                try (var rs = st.executeQuery("select extract(epoch from started_at - scheduled_for) * 1000"
                        + " from task_runs where " + window)) {
                    while (rs.next()) {
                        lags.add(rs.getDouble(1));
                    }
                }
                try (var rs = st.executeQuery(
                        "select count(*), extract(epoch from max(finished_at) - min(finished_at)) from task_runs"
                                + " where status = 'SUCCEEDED' and " + window)) {
                    rs.next();
                    steady[0] = rs.getLong(1);
                    steady[1] = rs.getDouble(2);
                }
            }
            Collections.sort(lags);
            return new Result(
                    steady[0] / steady[1],
                    lags.get((int) (lags.size() * 0.5)),
                    lags.get((int) (lags.size() * 0.99)),
                    (long) steady[0],
                    receiver == null ? -1 : receiver.spans().size());
        }
    }
}

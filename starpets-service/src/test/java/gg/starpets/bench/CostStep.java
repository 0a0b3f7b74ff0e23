package gg.starpets.bench;

import gg.starpets.bench.TimedDataSource.Kind;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The numbers of one measured window, per second of it. Times in milliseconds; CPU in cores
 * (1.0 = one core busy the whole window). {@code offered}: tasks due per second as scheduled
 * (0 when none is due).
 */
record CostStep(
        int instances,
        int tasks,
        double offered,
        double seconds,
        double statements,
        double transactions,
        double dbCores,
        double jvmCores,
        double hostCores,
        double dbTimeMs,
        double runs,
        int unentered,
        int offSchedule,
        double lagP50,
        double lagP99,
        double lagMax,
        double claimLagP99,
        Statement claim,
        Statement share,
        Statement finish,
        List<Load> loads) {

    /** One kind of statement: calls/s, the server's mean and max time, rows per call, the client's p50/p99. */
    record Statement(
            double calls, double meanMs, double maxMs, double rowsPerCall, double clientP50, double clientP99) {}

    /** Calls/s and server time (ms/s) of one kind of statement, all instances together. */
    record Load(String label, double calls, double meanMs, double timeMs) {}

    static CostStep of(CostCluster.Window w, int tasks, double offered) {
        double s = w.seconds();
        Map<String, double[]> byLabel = new LinkedHashMap<>();
        double calls = 0;
        double time = 0;
        for (CostServer.StatementStats st : w.after().statements()) {
            double[] sum = byLabel.computeIfAbsent(label(st.query()), k -> new double[4]);
            sum[0] += st.calls();
            sum[1] += st.totalMs();
            sum[2] = Math.max(sum[2], st.maxMs());
            sum[3] += st.rows();
            calls += st.calls();
            time += st.totalMs();
        }
        List<Load> loads = new ArrayList<>();
        byLabel.forEach((label, v) -> loads.add(new Load(label, v[0] / s, v[0] == 0 ? 0 : v[1] / v[0], v[1] / s)));
        loads.sort(Comparator.comparingDouble(Load::calls).reversed());
        double host = (w.after().host().busy() - w.before().host().busy()) / (double) 100 / s;
        return new CostStep(
                w.instances(),
                tasks,
                offered,
                s,
                calls / s,
                (w.after().transactions() - w.before().transactions()) / s,
                (w.after().dbCpu() - w.before().dbCpu()) / s,
                (w.after().jvmCpu() - w.before().jvmCpu()) / s,
                host,
                time / s,
                w.runs() / s,
                w.unentered(),
                w.offSchedule(),
                w.lagMicros().percentile(0.50) / 1e3,
                w.lagMicros().percentile(0.99) / 1e3,
                w.lagMicros().percentile(1.0) / 1e3,
                w.claimLagMicros().percentile(0.99) / 1e3,
                statement(byLabel.get("claim"), w.statementMicros().get(Kind.CLAIM), s),
                statement(byLabel.get("share"), w.statementMicros().get(Kind.SHARE), s),
                statement(byLabel.get("run end"), w.statementMicros().get(Kind.FINISH), s),
                List.copyOf(loads));
    }

    private static Statement statement(double[] server, Samples client, double seconds) {
        double[] v = server == null ? new double[4] : server;
        return new Statement(
                v[0] / seconds,
                v[0] == 0 ? Double.NaN : v[1] / v[0],
                v[0] == 0 ? Double.NaN : v[2],
                v[0] == 0 ? Double.NaN : v[3] / v[0],
                client.percentile(0.50) / 1e3,
                client.percentile(0.99) / 1e3);
    }

    /** Statements per second per instance. */
    double statementsPerInstance() {
        return statements / instances;
    }

    /** What the engine's statements are, by a fragment of their text (pg_stat_statements normalises constants). */
    static String label(String query) {
        String q = query.strip().toLowerCase(java.util.Locale.ROOT);
        if (q.contains("for update skip locked") && q.contains("insert into task_runs")) {
            return "claim";
        }
        String[][] fragments = {
            {"live_plus_me", "share"},
            {"ended as", "run end"},
            {"set heartbeat_at = now()", "heartbeat"},
            {"current_run_id = any", "lease renewal"},
            {"set progress = p.progress", "progress"},
            {"set state = 'gone'", "mark gone"},
            {"owner_lock_seen_at > pg_postmaster_start_time", "lock missing"},
            {"orphaned as", "recover orphans"},
            {"paused_until <= now()", "expire pauses"},
            {"set retired_at = now()", "retire undefined"},
            {"misfire_policy = 'skip'", "skip misfires"},
            {"select now()", "now()"},
            {"pg_notify", "notify"},
            {"pg_advisory_lock_shared", "session lock"},
            {"pg_advisory_xact_lock", "register"},
            {"insert into instances", "register"},
            {"for update of i", "register"},
            {"set state = $", "set state"},
            {"listen", "listen"},
        };
        for (String[] f : fragments) {
            if (q.contains(f[0])) {
                return f[1];
            }
        }
        if (q.equals("select $1") || q.equals("select 1")) {
            return "watch ping";
        }
        if (q.startsWith("set ")) {
            return "session settings";
        }
        if (q.equals("begin") || q.equals("commit") || q.equals("rollback")) {
            return "begin/commit";
        }
        return q.length() > 40 ? q.substring(0, 40) + "…" : q;
    }
}

package gg.starpets.bench;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.AppProcess;
import gg.starpets.support.TestPostgres;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Failover after SIGKILL: three instances of the real jar (production heartbeat and lease) run three
 * long tasks; the owner of one is killed again and again, and the time from the kill to the
 * task's next start is read on the database clock. Prints a markdown table row. Not a test.
 */
public final class FailoverBenchmark {

    private static final String TASK = "watched";

    private FailoverBenchmark() {}

    public static void main(String[] args) throws Exception {
        int kills = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        String db = TestPostgres.createDatabase();
        List<Double> seconds = new ArrayList<>();
        List<Double> detection = new ArrayList<>();
        List<AppProcess> processes = new ArrayList<>();
        try (HikariDataSource pool = TestPostgres.pool(db, 2)) {
            for (int i = 1; i <= 3; i++) {
                processes.add(start(db, "instance-" + i));
            }
            await(pool, "select count(*) = 3 from tasks where owner_instance is not null", Duration.ofMinutes(2));
            int next = 4;
            for (int k = 0; k < kills; k++) {
                String owner = text(pool, "select owner_instance from tasks where name = '" + TASK + "'");
                AppProcess victim = processes.stream()
                        .filter(p -> p.instanceId().equals(owner))
                        .findFirst()
                        .orElseThrow();
                victim.kill();
                double killedAt = number(pool, "select extract(epoch from clock_timestamp())");
                await(
                        pool,
                        "select owner_instance is not null and owner_instance <> '" + owner
                                + "' from tasks where name = '" + TASK + "'",
                        Duration.ofSeconds(30));
                double startedAt =
                        number(pool, "select extract(epoch from started_at) from tasks where name = '" + TASK + "'");
                // Detection: until another instance recorded the killed instance's run LOST.
                double lostAt = number(
                        pool,
                        "select extract(epoch from finished_at) from task_runs where status = 'LOST' and task_name = '"
                                + TASK + "' order by id desc limit 1");
                seconds.add(startedAt - killedAt);
                detection.add(lostAt - killedAt);
                processes.remove(victim);
                AppProcess replacement = start(db, "instance-" + next++);
                processes.add(replacement);
                await(pool, "select count(*) = 3 from instances where state = 'RUNNING'", Duration.ofMinutes(2));
            }
        } finally {
            for (AppProcess p : processes) {
                p.close();
            }
        }
        List<Double> sorted = seconds.stream().sorted().toList();
        double p50 = percentile(sorted, 0.5);
        double p99 = percentile(sorted, 0.99);
        List<Double> detected = detection.stream().sorted().toList();
        System.out.printf(
                "| failover after SIGKILL of the owner, %d kills, 3 instances | %.0f ms | %.0f ms | p99 <= 2 s | %s | max %.0f ms; of which detection (kill -> run LOST) p50 %.0f ms, p99 %.0f ms |%n",
                kills,
                p50 * 1000,
                p99 * 1000,
                p99 <= 2 ? "met" : "NOT met",
                sorted.getLast() * 1000,
                percentile(detected, 0.5) * 1000,
                percentile(detected, 0.99) * 1000);
        System.exit(0);
    }

    private static AppProcess start(String db, String id) throws Exception {
        Map<String, Object> settings = AppProcess.databaseSettings(db);
        settings.put("starpets.scheduler.settle", "1s");
        // The watched task's owner is killed again and again: not a handler at fault, so no quarantine.
        settings.put("starpets.scheduler.quarantine-after", "0");
        for (int i = 0; i < 3; i++) {
            String prefix = "starpets.tasks[" + i + "].";
            settings.put(prefix + "name", i == 0 ? TASK : "other-" + i);
            settings.put(prefix + "handler", "sleep");
            settings.put(prefix + "schedule", "1h");
            settings.put(prefix + "timeout", "2h");
            settings.put(prefix + "params.duration", "1h");
        }
        return AppProcess.start(id, settings);
    }

    /** Nearest-rank percentile. */
    private static double percentile(List<Double> sorted, double p) {
        int rank = (int) Math.ceil(p * sorted.size());
        return sorted.get(Math.max(0, rank - 1));
    }

    private static void await(HikariDataSource pool, String condition, Duration limit) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            try (var c = pool.getConnection();
                    var rs = c.createStatement().executeQuery(condition)) {
                if (rs.next() && rs.getBoolean(1)) {
                    return;
                }
            } catch (java.sql.SQLException e) {
                // The schema may not exist yet while the first instance migrates.
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("not within " + limit + ": " + condition);
    }

    private static String text(HikariDataSource pool, String sql) throws Exception {
        try (var c = pool.getConnection();
                var rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static double number(HikariDataSource pool, String sql) throws Exception {
        try (var c = pool.getConnection();
                var rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getDouble(1);
        }
    }
}

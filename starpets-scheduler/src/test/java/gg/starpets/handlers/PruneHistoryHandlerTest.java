package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.scheduler.InstanceRepository;
import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.RunRepository;
import gg.starpets.scheduler.TaskEvents;
import gg.starpets.support.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The history retention task on a real database. */
class PruneHistoryHandlerTest {

    private HikariDataSource db;
    private PruneHistoryHandler handler;

    @BeforeEach
    void database() {
        db = TestPostgres.migratedDatabase(4);
        handler = new PruneHistoryHandler(new RunRepository(db), new InstanceRepository(db), new TaskEvents(db));
        // Counts the DELETE statements on task_runs that deleted rows: the batches.
        execute("""
                create table deletes (n int not null);
                insert into deletes values (0);
                create function count_delete() returns trigger language plpgsql as $$
                begin
                    if exists (select 1 from gone) then update deletes set n = n + 1; end if;
                    return null;
                end $$;
                create trigger count_deletes after delete on task_runs referencing old table as gone
                    for each statement execute function count_delete();
                """);
    }

    @AfterEach
    void close() {
        db.close();
    }

    private void execute(String sql, Object... args) {
        try (Connection c = db.getConnection();
                var st = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                st.setObject(i + 1, args[i]);
            }
            st.execute();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private List<Long> longs(String sql, Object... args) {
        try (Connection c = db.getConnection();
                var st = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                st.setObject(i + 1, args[i]);
            }
            try (ResultSet rs = st.executeQuery()) {
                List<Long> values = new ArrayList<>();
                while (rs.next()) {
                    values.add(rs.getLong(1));
                }
                return values;
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private long count(String sql, Object... args) {
        return longs(sql, args).getFirst();
    }

    private void task(String name) {
        execute(
                "insert into tasks (name, handler, schedule, timeout_seconds, next_run_at)"
                        + " values (?, 'sleep', '1h', 60, now() + interval '1 hour')",
                name);
    }

    /** {@code n} finished runs of a task, which ended {@code daysAgo} days ago. */
    private void runs(String task, int n, int daysAgo) {
        execute("""
                insert into task_runs (task_id, task_name, instance_id, fence, scheduled_for, started_at, finished_at, status)
                select t.id, t.name, 'instance-1', g, now() - make_interval(days => ?), now() - make_interval(days => ?),
                       now() - make_interval(days => ?), 'SUCCEEDED'
                  from tasks t, generate_series(1, ?) g where t.name = ?
                """, daysAgo, daysAgo, daysAgo, n, task);
    }

    private RunContext prune(Map<String, Object> params) throws InterruptedException {
        handler.validate(params);
        RunContext context = RunContext.detached("prune-run-history", params, Duration.ofMinutes(10));
        handler.run(context);
        return context;
    }

    @Test
    void runsThatEndedBeforeMaxAgeAreDeletedInBatches() throws Exception {
        task("sync-pet-catalog");
        runs("sync-pet-catalog", 2_500, 40);
        runs("sync-pet-catalog", 10, 1);

        RunContext context = prune(Map.of("max-age", "30d", "batch-size", 1000, "keep-per-task", 100_000));

        assertThat(count("select count(*) from task_runs")).isEqualTo(10);
        assertThat(count("select count(*) from task_runs where finished_at < now() - interval '30 days'"))
                .isZero();
        assertThat(count("select n from deletes"))
                .as("delete statements: 1000 + 1000 + 500")
                .isEqualTo(3);
        assertThat(context.result()).containsEntry("deletedOldRuns", 2_500L).containsEntry("deletedRunsBeyondKeep", 0L);
        assertThat(context.progress()).isEqualTo(1.0);
        assertThat(context.output())
                .startsWith("deleted 0 run(s) beyond the newest 100000 per task and 2500 more that ended over 30d ago");
    }

    @Test
    void eachTaskKeepsItsNewestRunsAndLosesTheOlderOnesOldestFirst() throws Exception {
        task("refresh-price-cache");
        task("cleanup-sessions");
        runs("refresh-price-cache", 50, 2);
        runs("cleanup-sessions", 10, 2);
        List<Long> newest =
                longs("select id from task_runs where task_name = 'refresh-price-cache' order by id desc limit 20");

        RunContext context = prune(Map.of("keep-per-task", "20", "batch-size", "7"));

        assertThat(longs("select id from task_runs where task_name = 'refresh-price-cache' order by id desc"))
                .isEqualTo(newest);
        assertThat(count("select count(*) from task_runs where task_name = 'cleanup-sessions'"))
                .isEqualTo(10);
        assertThat(context.result()).containsEntry("deletedRunsBeyondKeep", 30L).containsEntry("deletedOldRuns", 0L);
        assertThat(count("select n from deletes"))
                .as("batches of 7: 7, 7, 7, 7, 2")
                .isEqualTo(5);
    }

    @Test
    void aRunInProgressAndATasksLastAndCurrentRunsAreNeverDeleted() throws Exception {
        task("audit-balances");
        runs("audit-balances", 3, 60);
        List<Long> ids = longs("select id from task_runs order by id");
        execute("""
                insert into task_runs (task_id, task_name, instance_id, fence, scheduled_for, started_at, status)
                select id, name, 'instance-1', 9, now() - interval '50 days', now() - interval '50 days', 'RUNNING'
                  from tasks where name = 'audit-balances'
                """);
        long running = count("select id from task_runs where status = 'RUNNING'");
        execute(
                "update tasks set last_run_id = ?, current_run_id = ? where name = 'audit-balances'",
                ids.get(1),
                running);

        prune(Map.of("max-age", "1d", "keep-per-task", 1));

        assertThat(longs("select id from task_runs order by id")).containsExactly(ids.get(1), running);
        // Once it is neither, it goes.
        execute("update tasks set last_run_id = null, current_run_id = null where name = 'audit-balances'");
        prune(Map.of("max-age", "1d"));
        assertThat(longs("select id from task_runs order by id")).containsExactly(running);
    }

    @Test
    void instancesGoneForLongAreDeletedButNeverALiveOneOrAnOwner() throws Exception {
        String insert = "insert into instances (id, host, version, session_key, heartbeat_at, state)"
                + " values (?, 'h', 'v', ?, now() - make_interval(days => ?), ?)";
        execute(insert, "gone-long-ago", 1L, 10, "GONE");
        execute(insert, "gone-yesterday", 2L, 1, "GONE");
        execute(insert, "silent-but-not-marked-gone", 3L, 10, "RUNNING");
        execute(insert, "gone-but-owning-a-task", 4L, 10, "GONE");
        execute(insert, "gone-but-its-session-is-alive", (5L << 32) + 6L, 10, "GONE");
        task("send-digest-emails");
        execute("update tasks set owner_instance = 'gone-but-owning-a-task'");

        RunContext context;
        try (Connection session = db.getConnection();
                var st = session.createStatement()) {
            st.execute("select pg_advisory_lock(" + ((5L << 32) + 6L) + ")");
            context = prune(Map.of("instances-gone-for", "7d"));
            st.execute("select pg_advisory_unlock_all()");
        }

        assertThat(longs("select count(*) from instances where id = 'gone-long-ago'"))
                .containsExactly(0L);
        assertThat(count("select count(*) from instances")).isEqualTo(4);
        assertThat(context.result()).containsEntry("deletedInstances", 1L);
    }

    @Test
    void auditEventsOlderThanTheirMaxAgeAreDeletedInBatchesAndAYearIsKeptByDefault() throws Exception {
        String insert = "insert into task_events (task_name, at, actor, action)"
                + " select 'nightly-export', now() - make_interval(days => ?), 'operator:ann', 'PAUSED'"
                + " from generate_series(1, ?)";
        execute(insert, 400, 25);
        execute(insert, 100, 5);
        execute(insert, 1, 3);

        RunContext byDefault = prune(Map.of("batch-size", 10));

        assertThat(byDefault.result()).containsEntry("deletedEvents", 25L);
        assertThat(count("select count(*) from task_events")).isEqualTo(8);

        RunContext shorter = prune(Map.of("events-max-age", "30d"));

        assertThat(shorter.result()).containsEntry("deletedEvents", 5L);
        assertThat(longs("select extract(day from now() - at)::bigint from task_events"))
                .containsOnly(1L);
        assertThat(shorter.output()).contains("5 audit event(s) older than 30d");
    }

    @Test
    void aStoppedRunDeletesNothingMore() {
        task("expire-trade-offers");
        runs("expire-trade-offers", 5, 90);
        RunContext context = RunContext.detached("prune-run-history", Map.of(), Duration.ofMinutes(10));

        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(() -> handler.run(context)).isInstanceOf(InterruptedException.class);
        } finally {
            Thread.interrupted();
        }
        assertThat(count("select count(*) from task_runs")).isEqualTo(5);
    }

    @Test
    void theDefaultsKeepThirtyDaysAndAThousandRunsPerTask() throws Exception {
        task("report-daily-sales");
        task("cleanup-sessions");
        runs("report-daily-sales", 100, 31);
        runs("report-daily-sales", 1_200, 29);
        runs("cleanup-sessions", 20, 31);
        runs("cleanup-sessions", 30, 29);

        RunContext context = prune(Map.of());

        assertThat(count("select count(*) from task_runs where task_name = 'report-daily-sales'"))
                .isEqualTo(1_000);
        assertThat(count("select count(*) from task_runs where task_name = 'cleanup-sessions'"))
                .isEqualTo(30);
        assertThat(context.result())
                .containsEntry("deletedRunsBeyondKeep", 300L)
                .containsEntry("deletedOldRuns", 20L);
    }

    @Test
    void paramsAreCheckedWhenTheTaskIsDefined() {
        assertThatThrownBy(() -> handler.validate(Map.of("keep", 10)))
                .hasMessage(
                        "unknown param 'keep' (known: batch-size, events-max-age, instances-gone-for, keep-per-task,"
                                + " max-age)");
        assertThatThrownBy(() -> handler.validate(Map.of("keep-per-task", 0)))
                .hasMessage("param 'keep-per-task' must be a positive whole number, not '0'");
        assertThatThrownBy(() -> handler.validate(Map.of("batch-size", "many")))
                .hasMessage("param 'batch-size' must be a positive whole number, not 'many'");
        assertThatThrownBy(() -> handler.validate(Map.of("max-age", "forever")))
                .hasMessageStartingWith("param 'max-age' must be a positive duration");
        assertThat(handler.operatorOnly()).isFalse();
    }
}

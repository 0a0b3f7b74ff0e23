package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The statements every instance sends once a heartbeat ({@link TaskHousekeeping}) and before every
 * claim (the share query) read indexes, not the whole tasks table: their cost must not grow with the
 * table (measured by bench/queries.sh). What breaks this test: dropping or
 * narrowing an index, or changing a statement's predicate so that its index no longer matches.
 */
class QueryPlanTest {

    private static HikariDataSource db;

    @BeforeAll
    static void fill() throws SQLException {
        db = TestPostgres.migratedDatabase(2);
        try (Connection c = db.getConnection();
                var st = c.createStatement()) {
            // 20,000 tasks, 20 from configuration, a third SKIP, none due, none paused: as in the benchmark.
            st.execute("""
                    insert into tasks (name, handler, schedule, timeout_seconds, next_run_at, source, misfire_policy)
                    select 'task-' || g, 'sleep', '1h', 60, now() + interval '1 hour' + (g % 600) * interval '1 second',
                           case when g % 1000 = 0 then 'CONFIG' else 'API' end,
                           case when g % 3 = 0 then 'SKIP' else 'RUN_ONCE' end
                      from generate_series(1, 20000) g
                    """);
            // Each task's history: 10 runs, the last one its last run; 100 tasks running now.
            st.execute("""
                    insert into task_runs (task_id, task_name, instance_id, fence, scheduled_for, finished_at, status)
                    select t.id, t.name, 'i-' || (t.id % 50), r, now(), now(), 'SUCCEEDED'
                      from tasks t, generate_series(1, 10) r
                    """);
            st.execute("update tasks t set last_run_id = (select max(r.id) from task_runs r where r.task_id = t.id)");
            st.execute("""
                    update tasks set owner_instance = 'i-' || (id % 50), owner_session = id % 50,
                           lease_until = now() + interval '10 s', current_run_id = last_run_id
                     where id % 200 = 0
                    """);
            // 50 instances of today, 5,000 gone long ago.
            st.execute("""
                    insert into instances (id, host, version, session_key, heartbeat_at, state)
                    select 'i-' || g, 'h', 'v', g, now() - case when g < 50 then interval '0' else interval '30 days' end,
                           case when g < 50 then 'RUNNING' else 'GONE' end
                      from generate_series(0, 5049) g
                    """);
            // The audit trail: 100,000 events over a year.
            st.execute("""
                    insert into task_events (task_name, at, actor, action)
                    select 'task-' || (g % 20000), now() - (g % 365) * interval '1 day', 'operator:ann', 'PAUSED'
                      from generate_series(1, 100000) g
                    """);
            st.execute("analyze");
        }
    }

    @AfterAll
    static void close() {
        db.close();
    }

    @Test
    void expiringPausesReadsThePauseEndIndex() throws SQLException {
        assertThat(plan(TaskHousekeeping.EXPIRE_PAUSES, Map.of()))
                .as("plan")
                .anyMatch(line -> line.contains("tasks_pause_end_idx"))
                .noneMatch(line -> line.contains("Seq Scan on tasks"));
    }

    @Test
    void retiringUndefinedConfigurationTasksReadsOnlyLiveConfigurationTasks() throws SQLException {
        assertThat(plan(TaskHousekeeping.RETIRE, Map.of("lease", 10_000L)))
                .as("plan")
                .anyMatch(line -> line.contains("tasks_config_live_idx"))
                .noneMatch(line -> line.contains("Seq Scan on tasks"));
    }

    @Test
    void skippingMisfiresReadsTheDueSkipTasksIndex() throws SQLException {
        assertThat(plan(TaskHousekeeping.SKIPPABLE, Map.of()))
                .as("plan")
                .anyMatch(line -> line.contains("tasks_skip_due_idx"))
                .noneMatch(line -> line.contains("Seq Scan on tasks"));
    }

    @Test
    void lookingForUnadvancedAllowSchedulesReadsOnlyAllowTasks() throws SQLException {
        assertThat(plan(TaskHousekeeping.UNADVANCED, Map.of("lease", 10_000L)))
                .as("plan")
                .anyMatch(line -> line.contains("tasks_allow_idx"))
                .noneMatch(line -> line.contains("Seq Scan on tasks"));
    }

    @Test
    void lookingForOwnedRunsWhoseLockIsMissingReadsOnlyOwnedRuns() throws SQLException {
        assertThat(plan(OwnedRunRepository.LOCK_MISSING, Map.of()))
                .as("plan")
                .anyMatch(line -> line.contains("task_runs_owner_idx"))
                .noneMatch(line -> line.contains("Seq Scan on task_runs"));
    }

    @Test
    void lookingForRunsToReplaceReadsOnlyRunningReplaceTasks() throws SQLException {
        assertThat(plan(TaskHousekeeping.REPLACEABLE, Map.of()))
                .as("plan")
                .anyMatch(line -> line.contains("tasks_replace_running_idx"))
                .noneMatch(line -> line.contains("Seq Scan on tasks"));
    }

    @Test
    void theShareQueryReadsOnlyOwnedDueAndJustClaimedTasks() throws SQLException {
        assertThat(plan(
                        ShareRepository.SHARE,
                        Map.of("instance", "i-1", "lease", 10_000L, "key", 101L, "window", 5_000L, "ahead", 100L)))
                .as("plan")
                .anyMatch(line -> line.contains("tasks_owner_idx"))
                .anyMatch(line -> line.contains("tasks_due_idx"))
                .anyMatch(line -> line.contains("tasks_claimed_idx"))
                .noneMatch(line -> line.contains("Seq Scan on tasks"));
    }

    @Test
    void theClaimReadsTheDueIndexOnTheEarlierOfTheScheduleAndTheOneOffRuns() throws SQLException {
        assertReadsOnlyTheDueIndex(plan(
                ClaimSql.CLAIM, claimParameters(Map.of("capacity", Integer.MAX_VALUE, "free", Integer.MAX_VALUE))));
    }

    @Test
    void theClaimByPriorityOfAnInstanceWithACapacityStillReadsOnlyDueTasksByTheDueIndex() throws SQLException {
        assertReadsOnlyTheDueIndex(plan(ClaimSql.CLAIM_BY_PRIORITY, claimParameters(WITH_CAPACITY)));
    }

    @Test
    void theClaimsWithoutTheGroupStepsReadOnlyTheDueIndexToo() throws SQLException {
        assertReadsOnlyTheDueIndex(plan(
                ClaimSql.CLAIM_UNGROUPED,
                claimParameters(Map.of("capacity", Integer.MAX_VALUE, "free", Integer.MAX_VALUE))));
        assertReadsOnlyTheDueIndex(plan(ClaimSql.CLAIM_BY_PRIORITY_UNGROUPED, claimParameters(WITH_CAPACITY)));
    }

    @Test
    void withABacklogOfDueTasksTheClaimByPriorityStillReadsOnlyThemByTheDueIndex() throws SQLException {
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            try (var st = c.createStatement()) {
                // A backlog: one task in ten due, as after an outage of an instance with a capacity.
                st.execute("update tasks set next_run_at = now() - interval '1 minute' where id % 10 = 0"
                        + " and owner_session is null");
                st.execute("analyze tasks");
            }
            try {
                // The due rows read by the index, then sorted: never the table.
                assertReadsOnlyTheDueIndex(plan(c, ClaimSql.CLAIM_BY_PRIORITY, claimParameters(WITH_CAPACITY)));
            } finally {
                c.rollback();
            }
        }
    }

    /** What the claim of an instance with a capacity binds beside what every claim binds. */
    private static final Map<String, Object> WITH_CAPACITY =
            Map.of("capacity", 4, "free", 4, "aging", java.time.Duration.ofMinutes(1));

    /** The parameters every claim binds, and {@code more}. */
    private static Map<String, Object> claimParameters(Map<String, Object> more) {
        Map<String, Object> params = new java.util.HashMap<>(more);
        params.putAll(Map.of(
                "key",
                101L,
                "busy",
                new long[0],
                "quota",
                10,
                "instance",
                "i-1",
                "lease",
                java.time.Duration.ofSeconds(10),
                "ahead",
                java.time.Duration.ofMillis(100)));
        return params;
    }

    private static void assertReadsOnlyTheDueIndex(List<String> plan) {
        assertThat(plan)
                .as("plan")
                .anyMatch(line -> line.contains("tasks_due_idx"))
                .noneMatch(line -> line.contains("Seq Scan on tasks"))
                .noneMatch(line -> line.contains("Seq Scan on task_runs"));
    }

    @Test
    void aBackfillsProgressReadsItsRunsByTheBackfillIndex() throws SQLException {
        assertThat(plan(BackfillRepository.FIND, Map.of("id", 1L)))
                .as("plan")
                .anyMatch(line -> line.contains("task_runs_backfill_idx"))
                .noneMatch(line -> line.contains("Seq Scan on task_runs"));
    }

    @Test
    void writingProgressReadsTasksByRunId() throws SQLException {
        assertThat(plan(
                        TaskRepository.PROGRESS,
                        Map.of("runs", new long[] {200, 400, 600}, "values", new double[] {0.1, 0.2, 0.3})))
                .as("plan")
                .anyMatch(line -> line.contains("tasks_current_run_idx"))
                .noneMatch(line -> line.contains("Seq Scan on tasks"));
    }

    /** Ends written together (RunEndBatcher) read their tasks and runs by key, however many this session runs. */
    @Test
    void runEndsWrittenTogetherReadTasksAndRunsByTheirKeys() throws SQLException {
        long[] three = {200, 400, 600};
        String[] texts = {null, null, null};
        Map<String, Object> common = Map.of(
                "tasks", three,
                "fences", new long[] {1, 1, 1},
                "runs", three,
                "statuses", new String[] {"SUCCEEDED", "FAILED", "SUCCEEDED"},
                "errors", texts,
                "progress", texts,
                "outputs", texts,
                "results", texts,
                "key", 0L);
        Map<String, Object> ofTasks = new java.util.HashMap<>(common);
        ofTasks.putAll(Map.of(
                "due_now", new String[] {"false", "false", "true"},
                "nexts", new java.sql.Timestamp[] {null, null, null},
                "fires", new java.sql.Timestamp[] {null, null, null},
                "causes", new String[] {"SCHEDULE", "SCHEDULE", "RETRY"},
                "attempts", new long[] {1, 1, 2},
                "catch_ups", new long[] {0, 0, 0}));
        for (List<String> plan :
                List.of(plan(RunEndRepository.FINISH_BATCH, ofTasks), plan(RunEndRepository.END_ONE_OFFS, common))) {
            assertThat(plan)
                    .as("plan")
                    .anyMatch(line -> line.contains("tasks_pkey"))
                    .anyMatch(line -> line.contains("(id = ANY ('{200,400,600}'::bigint[]))"))
                    .noneMatch(line -> line.contains("Seq Scan on tasks"))
                    .noneMatch(line -> line.contains("Seq Scan on task_runs"))
                    // Not every task the session owns, nor every run in progress: a batch reads its own rows.
                    .noneMatch(line -> line.contains("tasks_owner_idx"))
                    .noneMatch(line -> line.endsWith("Index Cond: (status = 'RUNNING'::text)"));
        }
    }

    @Test
    void retentionChecksThatARunIsNoTasksLastOrCurrentByIndex() throws SQLException {
        for (NamedSql delete : List.of(RunRepository.DELETE_BEYOND_NEWEST, RunRepository.DELETE_ENDED_BEFORE)) {
            Map<String, Object> parameters = delete == RunRepository.DELETE_BEYOND_NEWEST
                    ? Map.of("task", 200L, "skip", 1, "limit", 1000)
                    : Map.of("task", 200L, "max_age", 0L, "limit", 1000);
            assertThat(plan(delete, parameters))
                    .as("plan")
                    .anyMatch(line -> line.contains("tasks_last_run_idx"))
                    .anyMatch(line -> line.contains("tasks_current_run_idx"))
                    .noneMatch(line -> line.contains("Seq Scan on tasks"));
        }
    }

    @Test
    void deletingInstancesGoneForLongReadsOnlyGoneInstancesAndTheirTasksByIndex() throws SQLException {
        assertThat(plan(InstanceRepository.DELETE_GONE, Map.of("gone_for", 86_400_000L, "limit", 1000)))
                .as("plan")
                .anyMatch(line -> line.contains("instances_gone_idx"))
                .anyMatch(line -> line.contains("tasks_owner_instance_idx"))
                .noneMatch(line -> line.contains("Seq Scan on tasks"))
                .noneMatch(line -> line.contains("Seq Scan on instances"));
    }

    @Test
    void deletingOldEventsReadsTheirTimeIndex() throws SQLException {
        assertThat(plan(TaskEvents.DELETE_OLDER_THAN, Map.of("max_age", 90 * 86_400_000L, "limit", 1000)))
                .as("plan")
                .anyMatch(line -> line.contains("task_events_at_idx"))
                .noneMatch(line -> line.contains("Seq Scan on task_events"));
    }

    private static List<String> plan(NamedSql sql, Map<String, Object> parameters) throws SQLException {
        try (Connection c = db.getConnection()) {
            return plan(c, sql, parameters);
        }
    }

    private static List<String> plan(Connection c, NamedSql sql, Map<String, Object> parameters) throws SQLException {
        try (var st = sql.explained().prepare(c)) {
            for (var p : parameters.entrySet()) {
                st.set(p.getKey(), p.getValue());
            }
            List<String> lines = new ArrayList<>();
            try (var rs = st.executeQuery()) {
                while (rs.next()) {
                    lines.add(rs.getString(1));
                }
            }
            return lines;
        }
    }
}

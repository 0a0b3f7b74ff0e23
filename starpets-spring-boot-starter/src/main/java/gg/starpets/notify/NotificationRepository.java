package gg.starpets.notify;

import gg.starpets.config.StarPetsAutoConfiguration;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;
import org.springframework.stereotype.Repository;

/** The statements of {@code task_notify}, {@code notifications} and {@code notify_scan} (V18). */
@Repository
public class NotificationRepository {

    /** A run's end commits a little after its finished_at (the transaction's start): each scan looks back this far. */
    static final Duration LOOK_BACK = Duration.ofMinutes(5);

    private static final String UPSERT = """
            insert into task_notify (task_id, events, webhook, format, from_api)
            select id, string_to_array(:events, ','), :webhook, :format, :fromApi from tasks where name = :task
            on conflict (task_id) do update
               set events = excluded.events, webhook = excluded.webhook, format = excluded.format,
                   from_api = excluded.from_api
            """;

    private static final String CLEAR =
            "delete from task_notify where task_id = (select id from tasks where name = :task)";

    private static final String CLEAR_OTHER_CONFIG_TASKS = """
            delete from task_notify
             where task_id in (select id from tasks where source = 'CONFIG' and name <> all(string_to_array(:names, ',')))
            """;

    private static final String FIND = """
            select n.events, n.webhook, n.format from task_notify n join tasks t on t.id = n.task_id where t.name = :task
            """;

    /**
     * One row per event since the watermark (less {@link #LOOK_BACK}), for tasks that ask for it: their
     * own events, or the default ones when they have no row and a default webhook is set. A row that
     * exists already is left as it is, so instances scanning together insert each event once.
     * RECOVERED: a run that succeeded after the task's previous ended run (MISSED, CANCELLED,
     * INTERRUPTED aside) had FAILED, TIMED_OUT or was LOST.
     */
    private static final String SCAN = """
            with p as (select string_to_array(:defaults, ',') as defaults, cast(:hasDefault as boolean) as has_default,
                              s.scanned_through - make_interval(secs => :lookBack) as since
                         from notify_scan s where s.id = 1),
            subs as (select t.id, t.name, t.stuck_since, t.quarantined_at, t.current_run_id, t.owner_instance,
                            t.last_run_id, coalesce(n.events, p.defaults) as events
                       from tasks t left join task_notify n on n.task_id = t.id, p
                      where n.task_id is null and p.has_default or n.task_id is not null
                            and cardinality(n.events) > 0 and (n.webhook is not null or p.has_default)),
            ev as (
                select r.status as event, 'run:' || r.id as occurrence, s.id as task_id, s.name, r.id as run_id,
                       r.status, r.error, r.scheduled_for, r.instance_id, r.finished_at as occurred_at
                  from task_runs r join subs s on s.id = r.task_id, p
                 where r.finished_at > p.since and r.status in ('FAILED', 'TIMED_OUT', 'MISSED')
                   and r.status = any(s.events)
                union all
                select 'RECOVERED', 'run:' || r.id, s.id, s.name, r.id, r.status, prev.status, r.scheduled_for,
                       r.instance_id, r.finished_at
                  from task_runs r join subs s on s.id = r.task_id cross join p
                  join lateral (select b.status from task_runs b
                                 where b.task_id = r.task_id and b.id < r.id
                                   and b.status in ('SUCCEEDED', 'FAILED', 'TIMED_OUT', 'LOST')
                                 order by b.id desc limit 1) prev on true
                 where r.finished_at > p.since and r.status = 'SUCCEEDED' and 'RECOVERED' = any(s.events)
                   and prev.status in ('FAILED', 'TIMED_OUT', 'LOST')
                union all
                select 'STUCK', 'task:' || s.id || ':' || extract(epoch from s.stuck_since), s.id, s.name,
                       s.current_run_id, null, null, null, s.owner_instance, s.stuck_since
                  from subs s, p
                 where s.stuck_since > p.since and 'STUCK' = any(s.events)
                union all
                select 'QUARANTINED', 'task:' || s.id || ':' || extract(epoch from s.quarantined_at), s.id, s.name,
                       s.last_run_id, r.status, r.error, r.scheduled_for, r.instance_id, s.quarantined_at
                  from subs s left join task_runs r on r.id = s.last_run_id, p
                 where s.quarantined_at > p.since and 'QUARANTINED' = any(s.events))
            insert into notifications (event_key, task_id, task_name, event, run_id, status, error, scheduled_for,
                                       instance_id, occurred_at)
            select event || ':' || occurrence, task_id, name, event, run_id, status, error, scheduled_for,
                   instance_id, occurred_at
              from ev
            on conflict (event_key) do nothing
            """;

    private static final String ADVANCE = """
            update notify_scan set scanned_through = greatest(scanned_through, :through) where id = 1
            """;

    private static final String NOW = "select now()";

    /**
     * Takes due rows, skipping those another instance holds, and holds them (next attempt pushed past an
     * attempt's time) so that no other instance sends them meanwhile; returns each with where it goes.
     */
    private static final String CLAIM = """
            with due as (select id from notifications
                          where state = 'PENDING' and next_attempt_at <= now()
                          order by next_attempt_at limit :batch for update skip locked)
            update notifications x
               set attempts = x.attempts + 1, next_attempt_at = now() + make_interval(secs => :hold)
              from due
             where x.id = due.id
            returning x.id, x.task_name, x.event, x.run_id, x.status, x.error, x.scheduled_for, x.instance_id,
                      x.occurred_at, x.attempts,
                      (select n.webhook from task_notify n where n.task_id = x.task_id) as webhook,
                      (select n.format from task_notify n where n.task_id = x.task_id) as format,
                      coalesce((select n.from_api from task_notify n where n.task_id = x.task_id), false) as from_api
            """;

    private static final String SENT = """
            update notifications set state = 'SENT', sent_at = now(), last_error = :answer where id = :id
            """;

    private static final String FAILED = """
            update notifications
               set state = case when attempts >= :maxAttempts then 'GIVEN_UP' else 'PENDING' end,
                   next_attempt_at = now() + make_interval(secs => :backoff), last_error = :error
             where id = :id
            """;

    private static final String LIST = """
            select id, event, run_id, status, state, attempts, occurred_at, created_at, sent_at, next_attempt_at,
                   last_error
              from notifications where task_name = :task order by id desc limit :limit
            """;

    /** An event to send, as claimed. {@code webhook}, {@code format}: the task's, null for the default. */
    record Due(
            long id,
            String task,
            String event,
            Long runId,
            String status,
            String error,
            OffsetDateTime scheduledFor,
            String instanceId,
            OffsetDateTime occurredAt,
            int attempts,
            String webhook,
            String format,
            boolean fromApi) {}

    /** A notification as the API and the console show it. */
    public record Sent(
            long id,
            String event,
            Long runId,
            String status,
            String state,
            int attempts,
            Instant occurredAt,
            Instant createdAt,
            Instant sentAt,
            Instant nextAttemptAt,
            String lastError) {}

    private final JdbcClient jdbc;

    NotificationRepository(@Qualifier(StarPetsAutoConfiguration.DATA_SOURCE) DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
    }

    /** Sets a task's notify (null: back to the default); false when no task has that name. */
    public boolean configure(String task, TaskNotify notify, boolean fromApi) {
        return configure(jdbc, task, notify, fromApi);
    }

    /** {@link #configure(String, TaskNotify, boolean)} in the caller's transaction on {@code c}. */
    boolean configure(Connection c, String task, TaskNotify notify, boolean fromApi) {
        return configure(JdbcClient.create(new SingleConnectionDataSource(c, true)), task, notify, fromApi);
    }

    private static boolean configure(JdbcClient jdbc, String task, TaskNotify notify, boolean fromApi) {
        if (notify == null) {
            jdbc.sql(CLEAR).param("task", task).update();
            return true;
        }
        return jdbc.sql(UPSERT)
                        .param("events", String.join(",", notify.events()))
                        .param("webhook", notify.webhook())
                        .param("format", notify.format())
                        .param("fromApi", fromApi)
                        .param("task", task)
                        .update()
                > 0;
    }

    /** The configuration files' notify settings; the configuration tasks not named lose theirs. Returns the names with no task yet. */
    List<String> syncConfigured(Map<String, TaskNotify> byTask) {
        List<String> missing = new ArrayList<>();
        byTask.forEach((task, notify) -> {
            if (!configure(task, notify, false)) {
                missing.add(task);
            }
        });
        jdbc.sql(CLEAR_OTHER_CONFIG_TASKS)
                .param("names", String.join(",", byTask.keySet()))
                .update();
        return missing;
    }

    /** A task's own notify; null when it has none. */
    public TaskNotify find(String task) {
        return jdbc.sql(FIND)
                .param("task", task)
                .query((rs, n) -> new TaskNotify(
                        Arrays.asList((String[]) rs.getArray(1).getArray()), rs.getString(2), rs.getString(3)))
                .optional()
                .orElse(null);
    }

    /** Records the events that happened since the last scan; returns how many rows are new. */
    int scan(List<String> defaultEvents, boolean hasDefault) {
        OffsetDateTime now = jdbc.sql(NOW).query(OffsetDateTime.class).single();
        int inserted = jdbc.sql(SCAN)
                .param("defaults", String.join(",", defaultEvents))
                .param("hasDefault", hasDefault)
                .param("lookBack", LOOK_BACK.toSeconds())
                .update();
        jdbc.sql(ADVANCE).param("through", now).update();
        return inserted;
    }

    List<Due> claimDue(int batch, Duration hold) {
        return jdbc.sql(CLAIM)
                .param("batch", batch)
                .param("hold", hold.toMillis() / 1000.0)
                .query((rs, n) -> new Due(
                        rs.getLong("id"),
                        rs.getString("task_name"),
                        rs.getString("event"),
                        rs.getObject("run_id", Long.class),
                        rs.getString("status"),
                        rs.getString("error"),
                        rs.getObject("scheduled_for", OffsetDateTime.class),
                        rs.getString("instance_id"),
                        rs.getObject("occurred_at", OffsetDateTime.class),
                        rs.getInt("attempts"),
                        rs.getString("webhook"),
                        rs.getString("format"),
                        rs.getBoolean("from_api")))
                .list();
    }

    void markSent(long id, String answer) {
        jdbc.sql(SENT).param("id", id).param("answer", answer).update();
    }

    /** An attempt failed: tried again after {@code backoff}, or given up after {@code maxAttempts}. */
    void markFailed(long id, String error, int maxAttempts, Duration backoff) {
        jdbc.sql(FAILED)
                .param("id", id)
                .param("error", error)
                .param("maxAttempts", maxAttempts)
                .param("backoff", backoff.toMillis() / 1000.0)
                .update();
    }

    /** A task's notifications, newest first. */
    public List<Sent> list(String task, int limit) {
        return jdbc.sql(LIST)
                .param("task", task)
                .param("limit", limit)
                .query((rs, n) -> new Sent(
                        rs.getLong("id"),
                        rs.getString("event"),
                        rs.getObject("run_id", Long.class),
                        rs.getString("status"),
                        rs.getString("state"),
                        rs.getInt("attempts"),
                        instant(rs.getObject("occurred_at", OffsetDateTime.class)),
                        instant(rs.getObject("created_at", OffsetDateTime.class)),
                        instant(rs.getObject("sent_at", OffsetDateTime.class)),
                        instant(rs.getObject("next_attempt_at", OffsetDateTime.class)),
                        rs.getString("last_error")))
                .list();
    }

    private static Instant instant(OffsetDateTime t) {
        return t == null ? null : t.toInstant();
    }
}

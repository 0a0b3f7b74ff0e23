package gg.starpets.scheduler;

import static gg.starpets.scheduler.InstanceRepository.instant;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * Concurrency groups (docs/scheduler.md, "Concurrency groups"): the SQL of {@code task_groups} and of
 * the rows that stand for their limits. A group's {@code max-concurrent} is as many rows of
 * {@code group_slots}, its {@code max-starts} as many rows of {@code group_starts}; the claim
 * ({@link ClaimSql}) takes a free one of each in the statement that claims the task, and the task's
 * release frees its slot (V22's trigger). A change of a limit keeps the rows in step, here.
 */
public final class GroupRepository {

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

    /** {@code max-starts} as written: {@code "10/1m"}, starts per window. */
    private static final Pattern RATE = Pattern.compile("\\s*(\\d{1,9})\\s*/\\s*(\\S+)\\s*");

    /** The longest window of a rate limit (a day): {@code "1/1d"} at most one start a day. */
    public static final Duration LONGEST_WINDOW = Duration.ofDays(1);

    /** A group's limits. {@code maxConcurrent} null: any number of runs at once; {@code maxStarts} null: any rate. */
    public record Limits(Integer maxConcurrent, RateLimit maxStarts) {

        public static final Limits NONE = new Limits(null, null);

        public Limits {
            if (maxConcurrent != null && maxConcurrent < 1) {
                throw new InvalidGroupException("max-concurrent must be at least 1, not " + maxConcurrent);
            }
        }
    }

    /** At most {@code starts} starts in any {@code window}. */
    public record RateLimit(int starts, Duration window) {

        public RateLimit {
            if (starts < 1) {
                throw new InvalidGroupException("max-starts must allow at least 1 start, not " + starts);
            }
            if (window.toMillis() < 1 || window.compareTo(LONGEST_WINDOW) > 0 || window.toNanos() % 1_000_000 != 0) {
                throw new InvalidGroupException(
                        "the window of max-starts must be whole milliseconds from 1ms to 1d, not " + text(window));
            }
        }

        /** {@code "10/1m"}: starts, a slash, a duration ({@code 500ms}, {@code 30s}, {@code 1m}, {@code 1h}, {@code 1d}). */
        public static RateLimit parse(String text) {
            Matcher m = text == null ? null : RATE.matcher(text);
            Duration window = null;
            if (m != null && m.matches()) {
                try {
                    window = Schedule.Interval.parseDuration(m.group(2));
                } catch (IllegalArgumentException e) {
                    window = null;
                }
            }
            if (window == null) {
                throw new InvalidGroupException("max-starts must be starts per window such as \"10/1m\" (or 500ms, 30s,"
                        + " 1h, 1d), not '" + text + "'");
            }
            return new RateLimit(Integer.parseInt(m.group(1)), window);
        }

        @Override
        public String toString() {
            return starts + "/" + text(window);
        }

        private static String text(Duration d) {
            long ms = d.toMillis();
            for (var unit : List.of(Map.entry(86_400_000L, "d"), Map.entry(3_600_000L, "h"), Map.entry(60_000L, "m"))) {
                if (ms % unit.getKey() == 0) {
                    return ms / unit.getKey() + unit.getValue();
                }
            }
            return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
        }
    }

    /**
     * A group as GET /groups shows it: its limits (null: none; a group that tasks name and nothing
     * defines has neither), where they were set, and what its tasks use now.
     */
    public record Group(
            String name,
            Integer maxConcurrent,
            String maxStarts,
            String source,
            Instant updatedAt,
            String updatedBy,
            int tasks,
            int running,
            int startsInWindow) {}

    /** A limit or a group name that cannot be used; the message says why. */
    public static final class InvalidGroupException extends IllegalArgumentException {
        public InvalidGroupException(String message) {
            super(message);
        }
    }

    /** A group from the configuration files, which only they change. */
    public static final class FromConfigurationException extends IllegalStateException {
        FromConfigurationException(String name) {
            super("group '" + name + "' is defined in the configuration files (starpets.groups." + name
                    + "): change it there");
        }
    }

    /** The group row {@code g} of {@code task_groups} has a max-concurrent and no slot free. */
    private static final String NO_FREE_SLOT = """
            g.max_concurrent is not null
                 and not exists (select 1 from group_slots s where s.group_name = g.name and s.task_id is null)""";

    /** The group row {@code g} has a max-starts and no start left in its window. */
    private static final String NO_FREE_START = """
            g.max_starts is not null
                 and not exists (select 1 from group_starts s where s.group_name = g.name and s.free_at <= now())""";

    /**
     * The group row {@code g} has no room for a run now: the claim leaves its due tasks out
     * ({@link ClaimSql}), and {@link #WAIT} shows them waiting, by the same rule.
     */
    static final String NO_ROOM = "((" + NO_FREE_SLOT + ") or (" + NO_FREE_START + "))";

    /**
     * Why a due, unowned task of the tasks row {@code t} waits for its group (null when it does not):
     * no slot free, or no start left in the window. Read with the tasks ({@link TaskViews}).
     */
    static final String WAIT = """
            (select case when %1$s
                          then format('group %%1$s: %%2$s of %%3$s runs at once (max-concurrent) are in progress', g.name,
                                      (select count(*) from group_slots s where s.group_name = g.name and s.task_id is not null),
                                      g.max_concurrent)
                          when %2$s
                          then format('group %%1$s: %%2$s starts within %%3$s (max-starts); the next may start at %%4$s',
                                      g.name, g.max_starts, g.starts_window_ms * interval '1 millisecond',
                                      to_char((select min(s.free_at) from group_starts s where s.group_name = g.name)
                                              at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
                     end
               from task_groups g
              where g.name = t.concurrency_group and t.owner_session is null
                and least(t.next_run_at, t.next_request_at) <= now()) as group_wait""".formatted(NO_FREE_SLOT, NO_FREE_START);

    private static final NamedSql FIND = NamedSql.of("""
            select g.name, g.max_concurrent, g.max_starts, g.starts_window_ms, g.source, g.updated_at, g.updated_by,
                   (select count(*) from tasks t where t.concurrency_group = g.name) as tasks,
                   (select count(*) from tasks t where t.concurrency_group = g.name and t.owner_session is not null)
                       as running,
                   (select count(*) from group_starts s where s.group_name = g.name and s.free_at > now())
                       as starts_in_window
              from (select name, max_concurrent, max_starts, starts_window_ms, source, updated_at, updated_by
                      from task_groups
                    union all
                    -- Named by tasks, defined nowhere: no limit.
                    select distinct concurrency_group, null::integer, null::integer, null::bigint, null, null::timestamptz,
                           null
                      from tasks
                     where concurrency_group is not null
                       and concurrency_group not in (select name from task_groups)) g
             where cast(:name as text) is null or g.name = :name
             order by g.name
            """);

    private static final NamedSql LOCK = NamedSql.of("""
            select max_concurrent, max_starts, starts_window_ms, source from task_groups where name = :name for update
            """);

    private static final NamedSql UPSERT = NamedSql.of("""
            insert into task_groups (name, max_concurrent, max_starts, starts_window_ms, source, updated_by)
            values (:name, cast(:max_concurrent as integer), cast(:max_starts as integer), cast(:window as bigint),
                    :source, :actor)
            on conflict (name) do update
               set max_concurrent = excluded.max_concurrent, max_starts = excluded.max_starts,
                   starts_window_ms = excluded.starts_window_ms, source = excluded.source,
                   updated_by = excluded.updated_by, updated_at = now()
            """);

    // Every slot and start row of the group, locked: claims skip them all while the limit changes, so
    // none is admitted between the rows' removal and the new count.
    private static final NamedSql LOCK_ROWS = NamedSql.of("""
            select (select count(*) from (select 1 from group_slots where group_name = :name for update) s),
                   (select count(*) from (select 1 from group_starts where group_name = :name for update) r)
            """);

    /**
     * Removes rows of table {@code %1$s} of the group beyond {@code :limit} (null: all), those that
     * {@code %2$s} allows, first in the order {@code %3$s}.
     */
    private static final String REMOVE_ROWS = """
            delete from %1$s
             where group_name = :name
               and slot in (select slot from %1$s where group_name = :name %2$s
                             order by %3$s
                             limit greatest((select count(*) from %1$s where group_name = :name)
                                            - coalesce(cast(:limit as integer), 0), 0))
            """;

    /** Adds rows to table {@code %s} until the group has {@code :limit}, new ones free. */
    private static final String ADD_ROWS = """
            insert into %1$s (group_name, slot)
            select :name, coalesce((select max(slot) from %1$s where group_name = :name), 0) + n
              from generate_series(1, coalesce(cast(:limit as integer), 0)
                                      - (select count(*) from %1$s where group_name = :name)::integer) n
            """;

    // Free slots beyond the limit go now; held ones as their runs end (the trigger of V22).
    private static final NamedSql REMOVE_SLOTS =
            NamedSql.of(REMOVE_ROWS.formatted("group_slots", "and task_id is null", "slot desc"));

    private static final NamedSql ADD_SLOTS = NamedSql.of(ADD_ROWS.formatted("group_slots"));

    // The rows that come free soonest go: those of the latest starts stay counted.
    private static final NamedSql REMOVE_STARTS =
            NamedSql.of(REMOVE_ROWS.formatted("group_starts", "", "free_at, slot"));

    private static final NamedSql ADD_STARTS = NamedSql.of(ADD_ROWS.formatted("group_starts"));

    private final DataSource dataSource;

    public GroupRepository(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Whether {@code name} may name a group: lower-case letters, digits, '-' and '_', at most 63. */
    static boolean validName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /** Why {@code name} may not name a group. */
    static String nameRule(String name) {
        return "a concurrency group's name is lower-case letters, digits, '-' and '_' (at most 63, starting with a"
                + " letter or digit), not '" + name + "'";
    }

    /** Refuses a name that may not name a group. */
    public static void checkName(String name) {
        if (!validName(name)) {
            throw new InvalidGroupException(nameRule(name));
        }
    }

    /** Every group: those defined, and those tasks name with no definition. */
    public List<Group> list() {
        return read(null);
    }

    public Optional<Group> find(String name) {
        return read(name).stream().findFirst();
    }

    private List<Group> read(String name) {
        try (Connection c = dataSource.getConnection();
                var st = FIND.prepare(c).set("name", name);
                ResultSet rs = st.executeQuery()) {
            List<Group> groups = new ArrayList<>();
            while (rs.next()) {
                long window = rs.getLong("starts_window_ms");
                Integer maxStarts = (Integer) rs.getObject("max_starts");
                groups.add(new Group(
                        rs.getString("name"),
                        (Integer) rs.getObject("max_concurrent"),
                        maxStarts == null ? null : new RateLimit(maxStarts, Duration.ofMillis(window)).toString(),
                        rs.getString("source"),
                        instant(rs, "updated_at"),
                        rs.getString("updated_by"),
                        rs.getInt("tasks"),
                        rs.getInt("running"),
                        rs.getInt("starts_in_window")));
            }
            return groups;
        } catch (SQLException e) {
            throw new SchedulerException("could not read the concurrency groups", e);
        }
    }

    /**
     * Sets a group's limits over the API ({@code PUT /groups/{name}}), audited as the actor's; refuses
     * a group the configuration files define.
     */
    public Group set(String name, Limits limits, String actor) {
        checkName(name);
        Transactions.command(dataSource, c -> set(c, name, limits, "API", actor));
        return find(name).orElseThrow();
    }

    /**
     * Sets the limits the configuration files give ({@code starpets.groups.<name>}), each in a
     * transaction of its own; a group already so is left as it is (not audited again at each start).
     */
    public void sync(Map<String, Limits> configured, String actor) {
        configured.forEach((name, limits) -> {
            checkName(name);
            Transactions.command(dataSource, c -> set(c, name, limits, "CONFIG", actor));
        });
    }

    /** In the caller's transaction: the limits and their rows, and the audit event when anything changed. */
    private static boolean set(Connection c, String name, Limits limits, String source, String actor)
            throws SQLException {
        Map<String, Object> before = null;
        String storedSource = null;
        try (var st = LOCK.prepare(c).set("name", name);
                ResultSet rs = st.executeQuery()) {
            if (rs.next()) {
                Integer maxStarts = (Integer) rs.getObject("max_starts");
                before = describe(new Limits(
                        (Integer) rs.getObject("max_concurrent"),
                        maxStarts == null
                                ? null
                                : new RateLimit(maxStarts, Duration.ofMillis(rs.getLong("starts_window_ms")))));
                storedSource = rs.getString("source");
            }
        }
        if ("API".equals(source) && "CONFIG".equals(storedSource)) {
            throw new FromConfigurationException(name);
        }
        Map<String, Object> after = describe(limits);
        if (after.equals(before) && source.equals(storedSource)) {
            return false;
        }
        RateLimit rate = limits.maxStarts();
        try (var st = UPSERT.prepare(c)
                .set("name", name)
                .set("max_concurrent", limits.maxConcurrent())
                .set("max_starts", rate == null ? null : rate.starts())
                .set("window", rate == null ? null : rate.window().toMillis())
                .set("source", source)
                .set("actor", actor)) {
            st.executeUpdate();
        }
        try (var st = LOCK_ROWS.prepare(c).set("name", name);
                ResultSet rs = st.executeQuery()) {
            rs.next();
        }
        Integer starts = rate == null ? null : rate.starts();
        for (NamedSql step : List.of(REMOVE_SLOTS, ADD_SLOTS, REMOVE_STARTS, ADD_STARTS)) {
            boolean slots = step == REMOVE_SLOTS || step == ADD_SLOTS;
            try (var st = step.prepare(c).set("name", name).set("limit", slots ? limits.maxConcurrent() : starts)) {
                st.executeUpdate();
            }
        }
        TaskEvents.record(
                c,
                auditName(name),
                actor,
                AuditAction.GROUP_CHANGED,
                before == null ? null : Json.write(before),
                Json.write(after),
                null);
        // A raised limit may admit due tasks at once.
        TaskRepository.notifyTasksChanged(c);
        return true;
    }

    /** The name a group's changes have in the audit trail (no task name has a colon). */
    public static String auditName(String group) {
        return "group:" + group;
    }

    private static Map<String, Object> describe(Limits limits) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("maxConcurrent", limits.maxConcurrent());
        json.put("maxStarts", Objects.toString(limits.maxStarts(), null));
        return json;
    }

    /** A configured or requested {@code max-starts}, null or blank meaning none. */
    public static RateLimit rate(String text) {
        return text == null || text.isBlank() ? null : RateLimit.parse(text.toLowerCase(Locale.ROOT));
    }
}

package gg.starpets.scheduler;

import gg.starpets.scheduler.TaskCommands.Refusal;
import gg.starpets.scheduler.TaskCommands.RefusedException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The statements that check {@code run-after} chains as they are defined (configuration sync, the API's create, edit
 * and delete), in the transaction that writes them: the upstream must be a task (not retired), no chain
 * may loop, and a task others run after may not be deleted. A task has at most one upstream, so a chain
 * is a path upwards: a loop is a walk from the new upstream that comes back to the task. Every check
 * first takes one transaction-level advisory lock, so that two definitions written at once (a after b,
 * b after a) are checked one after the other, each seeing the other's commit.
 */
final class RunAfterRepository {

    // Two-int form (objsubid 2): never mistaken for an instance's session lock (SqlFragments.HELD_LOCKS).
    private static final NamedSql LOCK = NamedSql.of("select pg_advisory_xact_lock(22, 5)");

    private static final NamedSql CHAINS =
            NamedSql.of("select name, run_after_task from tasks where retired_at is null");

    private static final NamedSql DOWNSTREAM = NamedSql.of("""
            select name from tasks where run_after_task = :name and retired_at is null order by name
            """);

    private RunAfterRepository() {}

    /** What is wrong with a definition's run-after, and which task's it is. */
    record Problem(Refusal refusal, String task, String problem) {}

    /**
     * Refuses ({@link Refusal#UNKNOWN_UPSTREAM}, {@link Refusal#RUN_AFTER_LOOP}) definitions whose
     * run-after names no task, or closes a loop, given the tasks stored with {@code definitions} written
     * over them. Nothing is checked (nor locked) when none of them runs after another.
     */
    static void check(Connection c, Collection<TaskDefinition> definitions) throws SQLException {
        Problem p = problem(c, definitions);
        if (p != null) {
            throw new RefusedException(
                    p.refusal(), "Task '" + p.task() + "': " + p.problem() + "; nothing was changed");
        }
    }

    /** The first problem {@link #check} would refuse, or null. */
    static Problem problem(Connection c, Collection<TaskDefinition> definitions) throws SQLException {
        if (definitions.stream().allMatch(d -> d.runAfter() == null)) {
            return null;
        }
        lock(c);
        Map<String, String> upstreamOf = new HashMap<>();
        try (var st = CHAINS.prepare(c);
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                upstreamOf.put(rs.getString(1), rs.getString(2));
            }
        }
        for (TaskDefinition d : definitions) {
            upstreamOf.put(d.name(), d.runAfter() == null ? null : d.runAfter().task());
        }
        for (TaskDefinition d : definitions) {
            if (d.runAfter() == null) {
                continue;
            }
            if (!upstreamOf.containsKey(d.runAfter().task())) {
                return new Problem(
                        Refusal.UNKNOWN_UPSTREAM,
                        d.name(),
                        "run-after names '" + d.runAfter().task() + "', which is no task");
            }
            List<String> path = new ArrayList<>(List.of(d.name()));
            // Bounded: each step is another task, and a walk longer than all of them has looped elsewhere.
            for (String at = d.runAfter().task();
                    at != null && path.size() <= upstreamOf.size();
                    at = upstreamOf.get(at)) {
                path.add(at);
                if (at.equals(d.name())) {
                    return new Problem(
                            Refusal.RUN_AFTER_LOOP,
                            d.name(),
                            "run-after makes a loop (" + String.join(" after ", path) + ")");
                }
            }
        }
        return null;
    }

    /** Refuses ({@link Refusal#HAS_DOWNSTREAM}) deleting task {@code name} while other tasks run after it. */
    static void checkDelete(Connection c, String name) throws SQLException {
        lock(c);
        List<String> downstream = new ArrayList<>();
        try (var st = DOWNSTREAM.prepare(c).set("name", name);
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                downstream.add(rs.getString(1));
            }
        }
        if (!downstream.isEmpty()) {
            throw new RefusedException(
                    Refusal.HAS_DOWNSTREAM,
                    "Task '" + name + "' has tasks that run after it (" + String.join(", ", downstream)
                            + "); change or delete them first");
        }
    }

    private static void lock(Connection c) throws SQLException {
        try (var st = LOCK.prepare(c);
                ResultSet rs = st.executeQuery()) {
            rs.next();
        }
    }
}

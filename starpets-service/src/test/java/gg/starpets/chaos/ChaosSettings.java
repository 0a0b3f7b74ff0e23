package gg.starpets.chaos;

import gg.starpets.scheduler.Schedule;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * How a chaos run is shaped: {@code [rounds] [instances]} from the command line, the rest from the
 * environment (names in {@link #fromEnvironment}); defaults are the service's own lease and heartbeat.
 *
 * @param tasks how many tasks, spread evenly over {@code handlers}
 * @param runDuration how long each run works: longer than the longest fault, so that a handler frozen or
 *     cut off through a whole fault still has work left when the fault ends, and a step it takes then is seen
 * @param short_ how long a "shorter than the lease" freeze lasts
 * @param long_ how long a "longer than the lease" freeze lasts
 * @param settleLimit how long the suite waits for the cluster to settle after a fault before it counts what is stuck
 * @param strict exit 1 when a correctness target fails (overlap, run left non-terminal, LOST where none may be)
 */
record ChaosSettings(
        int rounds,
        int instances,
        Duration lease,
        Duration heartbeat,
        int tasks,
        Duration runDuration,
        Duration step,
        String schedule,
        Duration short_,
        Duration long_,
        Duration settleLimit,
        List<FaultKind> kinds,
        List<HandlerKind> handlers,
        boolean strict) {

    ChaosSettings {
        if (rounds < 1 || instances < 2) {
            throw new IllegalArgumentException("at least 1 round and 2 instances (a fault needs a survivor)");
        }
        if (heartbeat.multipliedBy(3).compareTo(lease) > 0) {
            throw new IllegalArgumentException("the lease must be at least 3 heartbeats, as in the service");
        }
        if (short_.compareTo(lease) >= 0 || long_.compareTo(lease) <= 0) {
            throw new IllegalArgumentException("the short freeze must be shorter than the lease, the long one longer");
        }
        if (runDuration.compareTo(long_) <= 0) {
            throw new IllegalArgumentException(
                    "a run (CHAOS_RUN, " + runDuration + ") must last longer than the longest" + " fault (CHAOS_LONG, "
                            + long_ + "): a step taken after the fault must be there to be seen");
        }
        if (handlers.isEmpty() || tasks < handlers.size()) {
            throw new IllegalArgumentException("at least one task of each handler kind (CHAOS_TASKS >= kinds)");
        }
    }

    /**
     * {@code CHAOS_LEASE} (10s), {@code CHAOS_HEARTBEAT} (lease / 10, the service's ratio), {@code
     * CHAOS_TASKS} (12), {@code CHAOS_RUN} (each run's length, 4s), {@code CHAOS_STEP} (100ms), {@code
     * CHAOS_SCHEDULE} (fixed delay 1s), {@code CHAOS_SHORT} / {@code CHAOS_LONG} (lease x 0.5 / x 1.5),
     * {@code CHAOS_SETTLE_LIMIT} (max(60s, 6 leases)), {@code CHAOS_KINDS} (all, comma separated ids),
     * {@code CHAOS_STRICT} (1: exit 1 on a failed correctness target).
     */
    static ChaosSettings fromEnvironment(String[] args, Map<String, String> env) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int instances = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Duration lease = duration(env, "CHAOS_LEASE", Duration.ofSeconds(10));
        Duration heartbeat = duration(env, "CHAOS_HEARTBEAT", lease.dividedBy(10));
        Duration sixLeases = lease.multipliedBy(6);
        String kinds = env.getOrDefault("CHAOS_KINDS", "").strip();
        String handlers = env.getOrDefault("CHAOS_HANDLERS", "").strip();
        Duration long_ = duration(env, "CHAOS_LONG", lease.multipliedBy(3).dividedBy(2));
        return new ChaosSettings(
                rounds,
                instances,
                lease,
                heartbeat,
                Integer.parseInt(env.getOrDefault("CHAOS_TASKS", "12")),
                duration(env, "CHAOS_RUN", long_.multipliedBy(2)),
                duration(env, "CHAOS_STEP", Duration.ofMillis(100)),
                env.getOrDefault("CHAOS_SCHEDULE", "1s"),
                duration(env, "CHAOS_SHORT", lease.dividedBy(2)),
                long_,
                duration(
                        env,
                        "CHAOS_SETTLE_LIMIT",
                        sixLeases.compareTo(Duration.ofMinutes(1)) > 0 ? sixLeases : Duration.ofMinutes(1)),
                kinds.isEmpty()
                        ? List.of(FaultKind.values())
                        : Arrays.stream(kinds.split(",")).map(FaultKind::byId).toList(),
                handlers.isEmpty()
                        ? List.of(HandlerKind.values())
                        : Arrays.stream(handlers.split(","))
                                .map(HandlerKind::byId)
                                .distinct()
                                .toList(),
                "1".equals(env.get("CHAOS_STRICT")) || "true".equalsIgnoreCase(env.get("CHAOS_STRICT")));
    }

    /** The concurrency group some witness tasks share (issue 22). */
    static final String GROUP = "chaos-witness";

    /**
     * The witness tasks in the group: all but the last one, when that leaves at least two (else none).
     * The last one and the tasks of the other kinds are in no group: recovery is measured over them,
     * since a recovered task of a group whose limit binds may wait for a slot as long as a run lasts
     * (with every witness task in a group of half their number, CI run 36's SIGKILL recovery p99 was
     * 15.4 s, the group's turnover, nothing lost).
     */
    List<String> groupTasks() {
        List<String> witnesses = taskNames().stream()
                .filter(n -> HandlerKind.ofTask(n) == HandlerKind.WITNESS)
                .toList();
        return witnesses.size() < 3 ? List.of() : witnesses.subList(0, witnesses.size() - 1);
    }

    /**
     * The group's max-concurrent: one less than its tasks, so that one of them is always due and
     * waiting for a slot: the limit binds under every fault, and a slot that leaked would keep the
     * group below it.
     */
    int groupLimit() {
        return Math.max(1, groupTasks().size() - 1);
    }

    /**
     * How soon after a fault is over the group must be back at its limit: a lease. A slot held by a run
     * whose instance is gone is freed by that run's recovery (its lease runs out, or sooner its session
     * lock is seen gone), then a waiting task takes it; a leaked slot never comes back.
     */
    Duration groupBackWithin() {
        return lease;
    }

    /** The tasks, in turn of each handler kind: {@code 01-witness, 02-exec, 03-sql, 04-witness, ...}. */
    List<String> taskNames() {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < tasks; i++) {
            names.add(handlers.get(i % handlers.size()).taskName(i + 1));
        }
        return names;
    }

    /** The pause between the end of a run and the next: the fixed delay, or a minute for a cron schedule. */
    Duration delay() {
        Duration d = Schedule.Interval.parseDuration(schedule);
        return d == null ? Duration.ofMinutes(1) : d;
    }

    private static Duration duration(Map<String, String> env, String name, Duration defaultValue) {
        String text = env.get(name);
        if (text == null || text.isBlank()) {
            return defaultValue;
        }
        Duration d = Schedule.Interval.parseDuration(text.strip());
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be a duration such as 10s or 500ms, not " + text);
        }
        return d;
    }
}

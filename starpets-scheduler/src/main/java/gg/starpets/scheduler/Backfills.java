package gg.starpets.scheduler;

import gg.starpets.scheduler.TaskCommands.Refusal;
import gg.starpets.scheduler.TaskCommands.RefusedException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * Backfills ({@code POST /tasks/{name}/backfill}): the task run once for each slot of its schedule in
 * {@code [from, to]}, both ends included. The slots of a cron schedule are its fire times in the task's
 * time zone; those of an interval schedule are {@code from}, {@code from + interval},
 * {@code from + 2 × interval}, … up to {@code to}. Each slot is a pending one-off run
 * ({@link OneOffRuns}) whose scheduled time is the slot; the claim starts a task's earliest pending run
 * first and one run of a task at a time, so the slots run oldest first, one after the other, each
 * carrying its slot ({@code RunContext.scheduledFor()}). A backfill serves past slots only: {@code to}
 * may not be later than now. At most {@link #MAX_SLOTS} slots; each command is one transaction with its
 * audit event, so a refused backfill writes nothing.
 */
public final class Backfills {

    /** The most slots one backfill may hold: a larger range is refused (split it). */
    public static final int MAX_SLOTS = 10_000;

    /** How far a refused range's slots are counted for the refusal's message. */
    private static final int COUNT_LIMIT = 1_000_000;

    /** A backfill as asked for. */
    public record Requested(long id, String task, int slots, Instant firstSlot, Instant lastSlot) {}

    /** A backfill as stored, with its slots counted by the latest run of each; {@code maxParallel}: slots at once. */
    public record Progress(
            long id,
            String task,
            String state,
            Instant from,
            Instant to,
            int slots,
            int maxParallel,
            long done,
            long failed,
            long pending,
            long running,
            long cancelled,
            Instant firstSlot,
            Instant lastSlot,
            String requestedBy,
            Instant createdAt,
            Instant cancelledAt,
            String cancelledBy) {

        /** {@code state}: CANCELLED once cancelled, DONE when no slot is pending or running, else IN_PROGRESS. */
        static String state(Instant cancelledAt, long pending, long running) {
            if (cancelledAt != null) {
                return "CANCELLED";
            }
            return pending + running == 0 ? "DONE" : "IN_PROGRESS";
        }
    }

    private final DataSource dataSource;

    public Backfills(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /**
     * Asks for a backfill of task {@code name} over {@code [from, to]}: refused when the task is
     * unknown, disabled, quarantined or a one-time task, when {@code to} is before {@code from} or later
     * than now, when the range holds no slot or more than {@link #MAX_SLOTS}.
     */
    public Requested request(String name, Instant from, Instant to, String actor) {
        return request(name, from, to, actor, 1);
    }

    /**
     * As above, running up to {@code maxParallel} of its slots at once: above 1 only for a task with
     * {@code overlap: ALLOW}, whose {@code max-concurrent} bounds it too (refused for any other: its runs
     * never overlap).
     */
    public Requested request(String name, Instant from, Instant to, String actor, int maxParallel) {
        if (maxParallel < 1) {
            throw new IllegalArgumentException("maxParallel must be at least 1, not " + maxParallel);
        }
        if (to.isBefore(from)) {
            throw new RefusedException(
                    Refusal.INVALID_RANGE, "'to' (" + to + ") is before 'from' (" + from + "); nothing was changed");
        }
        return Transactions.command(dataSource, c -> {
            StoredTask task = OneOffRuns.lockedRunnable(c, name);
            Instant now = DbClock.now(c);
            if (to.isAfter(now)) {
                throw new RefusedException(
                        Refusal.INVALID_RANGE,
                        "'to' (" + to + ") is later than now (" + now
                                + "): a backfill serves past slots, the schedule serves the coming ones");
            }
            if (maxParallel > 1 && task.definition().overlap() != TaskDefinition.Overlap.ALLOW) {
                throw new RefusedException(
                        Refusal.MAX_PARALLEL_UNSUPPORTED,
                        "'maxParallel' above 1 needs a task whose runs may overlap (overlap ALLOW with max-concurrent);"
                                + " task '" + name + "' has overlap "
                                + task.definition().overlap()
                                + ": its runs never overlap, so its backfills run one slot at a time");
            }
            Schedule schedule = task.definition().parsedSchedule();
            if (schedule instanceof Schedule.Once) {
                throw new RefusedException(
                        Refusal.NOT_BACKFILLABLE,
                        "Task '" + name + "' is a one-time task (schedule 'once'): it has no slots to backfill");
            }
            List<Instant> slots = slots(schedule, from, to);
            if (slots.isEmpty()) {
                throw new RefusedException(
                        Refusal.INVALID_RANGE,
                        "The schedule of task '" + name + "' has no slot in [" + from + ", " + to + "]");
            }
            long id = BackfillRepository.insert(
                    c,
                    task.id(),
                    name,
                    from,
                    to,
                    slots,
                    Json.write(task.definition().params()),
                    actor,
                    maxParallel);
            TaskEvents.record(
                    c,
                    name,
                    actor,
                    AuditAction.BACKFILL_REQUESTED,
                    null,
                    null,
                    "backfill " + id + ": " + slots.size() + " slots from " + slots.getFirst() + " to "
                            + slots.getLast() + (maxParallel > 1 ? ", up to " + maxParallel + " at once" : ""));
            return new Requested(id, name, slots.size(), slots.getFirst(), slots.getLast());
        });
    }

    /** The backfill's progress; refused when there is no such backfill. */
    public Progress progress(long id) {
        Progress progress = Transactions.command(dataSource, c -> BackfillRepository.find(c, id));
        if (progress == null) {
            throw notFound(id);
        }
        return progress;
    }

    /** The task's backfills, the latest first (at most {@code limit}). */
    public List<Progress> ofTask(String name, int limit) {
        return Transactions.command(dataSource, c -> BackfillRepository.ofTask(c, name, limit));
    }

    /**
     * Cancels a backfill: its pending runs end CANCELLED without starting; a run of it in progress is
     * left to end (POST /runs/{id}/cancel stops it), and is not retried. Cancelling it again changes
     * nothing. Returns its progress after.
     */
    public Progress cancel(long id, String actor) {
        return Transactions.command(dataSource, c -> {
            BackfillRepository.TaskOf of = BackfillRepository.taskOf(c, id);
            if (of == null) {
                throw notFound(id);
            }
            OneOffRepository.lockTask(c, of.taskId());
            if (BackfillRepository.cancel(c, of.taskId(), id, actor)) {
                TaskEvents.record(c, of.task(), actor, AuditAction.BACKFILL_CANCELLED, null, null, "backfill " + id);
            }
            return BackfillRepository.find(c, id);
        });
    }

    /**
     * The schedule's slots in {@code [from, to]}, ascending; refused ({@link Refusal#TOO_MANY_SLOTS})
     * when there are more than {@link #MAX_SLOTS}, saying how many the range holds.
     */
    static List<Instant> slots(Schedule schedule, Instant from, Instant to) {
        if (schedule instanceof Schedule.Interval interval) {
            Duration delay = interval.delay();
            long count = Duration.between(from, to).dividedBy(delay) + 1;
            if (count > MAX_SLOTS) {
                throw tooMany(String.format("%,d", count));
            }
            List<Instant> slots = new ArrayList<>();
            for (int k = 0; k < count; k++) {
                slots.add(from.plus(delay.multipliedBy(k)));
            }
            return slots;
        }
        List<Instant> slots = new ArrayList<>();
        // The first fire time at or after from (cron times are whole seconds).
        Instant slot = schedule.nextOrNull(from.minusNanos(1));
        long count = 0;
        while (slot != null && !slot.isAfter(to) && count < COUNT_LIMIT) {
            if (++count <= MAX_SLOTS) {
                slots.add(slot);
            }
            slot = schedule.nextOrNull(slot);
        }
        if (count > MAX_SLOTS) {
            throw tooMany(count < COUNT_LIMIT ? String.format("%,d", count) : String.format("over %,d", COUNT_LIMIT));
        }
        return slots;
    }

    private static RefusedException tooMany(String count) {
        return new RefusedException(
                Refusal.TOO_MANY_SLOTS,
                "The range holds " + count + " slots; a backfill may hold at most " + String.format("%,d", MAX_SLOTS)
                        + ": split it; nothing was changed");
    }

    private static RefusedException notFound(long id) {
        return new RefusedException(Refusal.BACKFILL_NOT_FOUND, "No backfill " + id);
    }
}

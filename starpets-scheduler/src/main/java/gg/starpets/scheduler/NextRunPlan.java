package gg.starpets.scheduler;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * "When does this task run next?", decided in Java in this one place, without a database and without a
 * clock of its own: callers pass the instants (the database's time, or the time of the claim plus what
 * this instance's monotonic clock measured since) and a source of randomness for back-off spread and
 * jitter.
 *
 * <p>As a run ends ({@link #afterRun}): cut short by this instance (shutdown, a hold it could not
 * confirm) it is due at once, anywhere, with the same cause and attempt. Failed or timed out with
 * attempts left: a retry after its back-off (±10 %), unless that is past the next regular time, which
 * then wins (a retry never delays the schedule). A cron task that is {@code CATCH_UP}, below its limit
 * of catch-ups in a row, whose next time after the one it ran for has passed, but not by more than its
 * catch-up window: that missed time. A slot of a cron task that came due while the run was in
 * progress runs once, late, at once ({@link #lateSlot}); under {@code SKIP} the slots skipped are
 * {@link #missed} (recorded as MISSED runs). Otherwise the schedule's next time after now, plus a
 * jitter between zero and all of the task's {@code jitter}; a misfired run so runs once and is not
 * followed by a burst. A schedule that cannot be computed leaves the task with no next run until its
 * definition changes. A new task ({@link #firstRun}) runs first at its {@code start-at}, else a cron at
 * its next matching time and a fixed delay at once; a task whose schedule is set anew
 * ({@link #afterScheduleChange}) at its new schedule's next time.
 *
 * <p>Adjustments that stay in SQL, because they must be atomic with the statement that changes the row
 * (a decision read first and written later would race with operators and other instances):
 * <ul>
 *   <li>the run's end ({@code TaskRepository.FINISH}): an operator's trigger queued while the run was
 *       in progress ({@code trigger_queued}) makes the task due at once with cause {@code TRIGGER},
 *       attempt 1, whatever was decided here; and "due at once" is the database's {@code now()}. Both in
 *       the statement that releases the task under its fence, so a trigger is never lost between them;
 *   <li>a schedule edited while the run was in progress ({@code TaskRepository.RESCHEDULE}): the next
 *       time is computed again from the stored schedule ({@link #nextOrNull}; when
 *       {@link #followsEditedSchedule} says so) and written only while the task is still unowned, at the
 *       same fence and still due for its schedule, so a claim or an operator in between wins;
 *   <li>recovery ({@code OrphanRepository.RECOVER}): due at once, cause {@code RECOVERY}, the next
 *       attempt, in the statement that takes the task from its lost owner and bumps the fence;
 *   <li>a {@code SKIP} task missed by more than its threshold is not claimable ({@code SqlFragments.CLAIMABLE}); the
 *       housekeeping ({@code TaskHousekeeping.skipMisfires}) moves it to {@link #nextOrNull} after the
 *       database's now, only if its due time is still the one it read and its row is not locked;
 *   <li>{@code overlap: REPLACE}: the run in progress is cancelled by housekeeping
 *       ({@code TaskHousekeeping.replaceOverrunning}) when {@link #dueWhileRunning} finds a slot due, in the
 *       statement that asks its owner as an operator's cancel does;
 *   <li>operators' commands: a trigger (due now, {@code TRIGGER}, or queued while a run is in progress),
 *       and a schedule edit that keeps a pending trigger, retry or recovery (not the schedule's to move);
 *   <li>the claim reads the time a run is for as {@code coalesce(next_fire_at, next_run_at)}, the
 *       catch-up's starting point at the run's end.
 * </ul>
 */
final class NextRunPlan {

    private static final Logger log = LoggerFactory.getLogger(NextRunPlan.class);

    /** A retry's back-off is spread by up to this fraction either way. */
    static final double BACKOFF_SPREAD = 0.1;

    private final DoubleSupplier random;

    /** With a thread-local random source. */
    NextRunPlan() {
        this(() -> ThreadLocalRandom.current().nextDouble());
    }

    /** @param random uniform in [0, 1): spreads back-offs and draws jitter */
    NextRunPlan(DoubleSupplier random) {
        this.random = random;
    }

    /**
     * Whether, and when, a one-off run that ended with {@code status} runs again: at once, as the same
     * attempt, when this instance stopped it (shutdown, a hold it could not confirm); after the task's
     * back-off (spread as a task's retry is), as the next attempt, when it failed or timed
     * out with attempts left; else never (null). The task's own schedule plays no part.
     */
    NextRun afterOneOffRun(ClaimedRun claim, RunStatus status, LocalRun.StopReason reason, Instant now) {
        if (reason == LocalRun.StopReason.SHUTDOWN || reason == LocalRun.StopReason.SELF_FENCED) {
            return NextRun.now(RunCause.MANUAL, claim.attempt());
        }
        RetryPolicy retry = claim.retry();
        if ((status == RunStatus.FAILED || status == RunStatus.TIMED_OUT)
                && retry != null
                && claim.attempt() < retry.maxAttempts()) {
            Instant at = now.plus(randomized(retry.backoff(claim.attempt()), BACKOFF_SPREAD));
            return new NextRun(at, false, at, RunCause.MANUAL, claim.attempt() + 1, 0);
        }
        return null;
    }

    /**
     * Whether a run of an {@code overlap: ALLOW} task ({@link ClaimedRun#ownsItself}) that ended with
     * {@code status} at {@code now} runs again, as a pending run of its own: at once after a stop by this
     * instance, after its back-off when a retry is left; null: not again. Its task's schedule moved on at its
     * claim ({@link #afterClaim}); a retry, like every run of the task, waits for a free place (max-concurrent).
     */
    NextRun afterOwnedRun(ClaimedRun claim, RunStatus status, LocalRun.StopReason reason, Instant now) {
        // A one-off run stays one (its cause says so through retries); a run of the schedule is retried as RETRY.
        RunCause again = claim.oneOff() ? RunCause.valueOf(claim.cause()) : RunCause.RETRY;
        if (reason == LocalRun.StopReason.SHUTDOWN || reason == LocalRun.StopReason.SELF_FENCED) {
            return NextRun.now(RunCause.valueOf(claim.cause()), claim.attempt());
        }
        RetryPolicy retry = claim.retry();
        if ((status == RunStatus.FAILED || status == RunStatus.TIMED_OUT)
                && retry != null
                && claim.attempt() < retry.maxAttempts()) {
            Instant at = now.plus(randomized(retry.backoff(claim.attempt()), BACKOFF_SPREAD));
            return new NextRun(at, false, at, again, claim.attempt() + 1, 0);
        }
        return null;
    }

    /**
     * The schedule's next time after a claim of an {@code overlap: ALLOW} task's slot, made at the claim
     * ({@code claim.startedAt()}): as after a run that ended then, so a misfire policy and catch-ups apply as
     * they do to every task; a fixed delay counts from the start. Null for a claim of a pending run.
     */
    NextRun afterClaim(ClaimedRun claim, Supplier<Schedule> schedule) {
        if (claim.pending()) {
            return null;
        }
        return afterRun(claim, RunStatus.SUCCEEDED, null, schedule, claim.startedAt());
    }

    /**
     * The slots a claim of an {@code overlap: ALLOW} task's slot made late skips, for {@code misfire: SKIP}
     * (a cron's slots after the one it serves, up to the claim, but the next one if it runs at once: the
     * claim was late for them, a downtime or all max-concurrent places taken); empty for the other policies
     * (one run stands for them, or they are caught up) and for a claim of a pending run.
     */
    static List<MissedSlots> missedAtClaim(ClaimedRun claim, NextRun next, Schedule schedule) {
        if (claim.pending()
                || next == null
                || claim.misfire().kind() != MisfirePolicy.Kind.SKIP
                || !(schedule instanceof Schedule.Cron)
                || claim.fireAt() == null) {
            return List.of();
        }
        Instant except = next.fireAt() != null && !next.fireAt().isAfter(claim.startedAt()) ? next.fireAt() : null;
        MissedSlots missed =
                MissedSlots.between(schedule, claim.fireAt(), claim.startedAt(), except, misfireReason(claim));
        return missed.isEmpty() ? List.of() : List.of(missed);
    }

    /**
     * When {@code claim}'s task runs next after its run ended with {@code status} at {@code now}; stopped
     * by this instance for {@code reason} (null when not stopped). {@code schedule} is asked only when
     * needed; a schedule that cannot be built or computed gives no next run (logged).
     */
    NextRun afterRun(
            ClaimedRun claim, RunStatus status, LocalRun.StopReason reason, Supplier<Schedule> schedule, Instant now) {
        if (reason == LocalRun.StopReason.SHUTDOWN || reason == LocalRun.StopReason.SELF_FENCED) {
            return NextRun.now(RunCause.valueOf(claim.cause()), claim.attempt());
        }
        Schedule parsed;
        Instant regular;
        try {
            parsed = schedule.get();
            regular = parsed.nextOrNull(now);
        } catch (RuntimeException e) {
            log.error(
                    "Task {}: no next run ({}); it will not run again until its schedule changes",
                    claim.task(),
                    e.getMessage());
            return NextRun.scheduled(null);
        }
        // A slot that came due while the run was in progress and runs once, late: the next regular time.
        Instant late = lateSlot(claim, parsed, now);
        RetryPolicy retry = claim.retry();
        if ((status == RunStatus.FAILED || status == RunStatus.TIMED_OUT)
                && retry != null
                && claim.attempt() < retry.maxAttempts()) {
            Instant retryAt = now.plus(randomized(retry.backoff(claim.attempt()), BACKOFF_SPREAD));
            Instant nextRegular = late != null ? late : regular;
            if (nextRegular == null || retryAt.isBefore(nextRegular)) {
                return new NextRun(
                        retryAt, false, claim.fireAt(), RunCause.RETRY, claim.attempt() + 1, claim.catchUps());
            }
        }
        if (late != null) {
            // CATCH_UP, a time missed and run late: a SKIP task's claim would skip a SCHEDULE slot missed by
            // more than its threshold. Only SKIP's own late slot (within its threshold) stays SCHEDULE: if
            // no instance starts it in time after all, it is skipped and recorded as any other.
            boolean skips = claim.overlap() == TaskDefinition.Overlap.SKIP
                    && claim.misfire().kind() == MisfirePolicy.Kind.SKIP;
            return new NextRun(late, false, late, skips ? RunCause.SCHEDULE : RunCause.CATCH_UP, 1, 0);
        }
        MisfirePolicy misfire = claim.misfire();
        if (misfire.kind() == MisfirePolicy.Kind.CATCH_UP
                && parsed instanceof Schedule.Cron
                && claim.fireAt() != null
                && claim.catchUps() < misfire.catchUpLimit()) {
            Instant missed = parsed.nextOrNull(claim.fireAt());
            if (missed != null
                    && !missed.isAfter(now)
                    && Duration.between(missed, now).compareTo(misfire.catchUpWindow()) <= 0) {
                return new NextRun(missed, false, missed, RunCause.CATCH_UP, 1, claim.catchUps() + 1);
            }
        }
        if (regular == null) {
            return NextRun.scheduled(null);
        }
        Instant due = claim.jitter().isZero() ? regular : regular.plus(randomized(claim.jitter(), 1.0));
        return new NextRun(due, false, regular, RunCause.SCHEDULE, 1, 0);
    }

    /**
     * The slot of a cron task that came due while its run was in progress (after the later of the time
     * the run was for and its start, up to {@code now}) and runs once, late, as soon as the run ends;
     * null when none did, or the policies say none runs. With {@code overlap: BUFFER_ONE} or
     * {@code REPLACE}: the first such slot, whatever the misfire policy (several give one run). With
     * {@code overlap: SKIP}, as the misfire policy says: {@code RUN_ONCE}: the first such slot (one run
     * stands for all of them, as it does for a downtime); {@code SKIP}: the last slot since the time the
     * run was for, if it was missed by no more than the threshold (as a late claim would still run it),
     * the others are {@link #missed}; {@code CATCH_UP} catches its slots up one by one instead. A fixed
     * delay counts from the run's end: never due while it runs.
     */
    static Instant lateSlot(ClaimedRun claim, Schedule schedule, Instant now) {
        if (!(schedule instanceof Schedule.Cron) || claim.fireAt() == null) {
            return null;
        }
        if (claim.overlap() != TaskDefinition.Overlap.SKIP) {
            return dueWhileRunning(schedule, claim.fireAt(), claim.startedAt(), now);
        }
        MisfirePolicy misfire = claim.misfire();
        return switch (misfire.kind()) {
            case RUN_ONCE -> dueWhileRunning(schedule, claim.fireAt(), claim.startedAt(), now);
            case SKIP -> {
                Instant last = MissedSlots.last(schedule, claim.fireAt(), now);
                yield last != null && Duration.between(last, now).compareTo(misfire.threshold()) <= 0 ? last : null;
            }
            case CATCH_UP -> null;
        };
    }

    /**
     * The first slot of {@code schedule} that came due while a run for {@code fireAt}, started at
     * {@code startedAt}, was in progress, up to {@code now}; null if none. Slots up to its start were the
     * run's own (it ran late for them). Decides a late run as a run ends, and {@code overlap: REPLACE}
     * while it runs ({@code TaskHousekeeping}).
     */
    static Instant dueWhileRunning(Schedule schedule, Instant fireAt, Instant startedAt, Instant now) {
        Instant first = schedule.nextOrNull(later(fireAt, startedAt));
        return first != null && !first.isAfter(now) ? first : null;
    }

    /**
     * The slots a {@code misfire: SKIP} cron task skipped by the time its run ended at {@code now}, as
     * it goes on with {@code next}: every slot after the time the run was for, up to now, but the one
     * that runs late. Those up to the run's start were missed before it (a claim later than the slot
     * after them, within the threshold); those after it came due while it ran. Empty for the other
     * policies (their late run stands for the slots it was late for), for a fixed delay, and for a run
     * handed back at once; and for {@code overlap: BUFFER_ONE} and {@code REPLACE}, whose one run stands
     * for them.
     */
    static List<MissedSlots> missed(ClaimedRun claim, NextRun next, Schedule schedule, Instant now) {
        if (claim.misfire().kind() != MisfirePolicy.Kind.SKIP
                || claim.overlap() != TaskDefinition.Overlap.SKIP
                || !(schedule instanceof Schedule.Cron)
                || claim.fireAt() == null
                || next.dueNow()) {
            return List.of();
        }
        Instant except = next.fireAt() != null && !next.fireAt().isAfter(now) ? next.fireAt() : null;
        Instant started = later(claim.fireAt(), claim.startedAt());
        List<MissedSlots> missed = new ArrayList<>();
        MissedSlots before = MissedSlots.between(schedule, claim.fireAt(), started, except, misfireReason(claim));
        MissedSlots during = MissedSlots.between(
                schedule, started, now, except, "overlap: run " + claim.runId() + " was still running");
        for (MissedSlots m : List.of(before, during)) {
            if (!m.isEmpty()) {
                missed.add(m);
            }
        }
        return missed;
    }

    /** Why a SKIP task's slot was missed while no run of it was in progress. */
    static String misfireReason(ClaimedRun claim) {
        return "misfire: not started within its threshold ("
                + claim.misfire().threshold().toMillis() + " ms)";
    }

    private static Instant later(Instant a, Instant b) {
        return b == null || a.isAfter(b) ? a : b;
    }

    /**
     * Whether a run's end that released its task with {@code next} must be followed by computing the
     * next time again from the schedule as stored now ({@code TaskRepository.RESCHEDULE}): the run was
     * planned from its claimed schedule, for the schedule, and an operator changed the schedule or its
     * time zone meanwhile. A pending retry or catch-up, or a task due at once, keeps its time.
     */
    static boolean followsEditedSchedule(
            NextRun next, String claimedSchedule, String claimedZone, String storedSchedule, String storedZone) {
        return !next.dueNow()
                && next.cause() == RunCause.SCHEDULE
                && !(claimedSchedule.equals(storedSchedule) && claimedZone.equals(storedZone));
    }

    /**
     * When a new task (created over the API, or new in the configuration) runs first: at its
     * {@code startAt} if it has one (at once if that has passed); otherwise a cron at its next matching
     * time after {@code now} (a daily 03:00 task deployed at noon waits for 03:00), a fixed delay at
     * once ({@code now}: it counts from the end of a run, and there was none). Null when the schedule
     * never fires again.
     */
    static Instant firstRun(TaskDefinition task, Instant now) {
        // A one-time task's 'at' is its start-at (TaskDefinition.withAt).
        if (task.startAt() != null) {
            return task.startAt().isAfter(now) ? task.startAt() : now;
        }
        Schedule schedule = task.parsedSchedule();
        return schedule instanceof Schedule.Interval ? now : schedule.nextOrNull(now);
    }

    /**
     * When a task whose schedule is set anew (an operator's edit, a changed configuration) runs next:
     * at the {@code startAt} given with it if that is still to come (one that has passed was the first
     * run's), else its new schedule's next time after {@code now}; never at once (a trigger runs it now).
     */
    static Instant afterScheduleChange(TaskDefinition task, Instant now) {
        if (task.once()) {
            return firstRun(task, now);
        }
        return task.startAt() != null && task.startAt().isAfter(now)
                ? task.startAt()
                : task.parsedSchedule().nextOrNull(now);
    }

    /** The next time of a schedule as stored, or null when it never fires again or cannot be read. */
    static Instant nextOrNull(String schedule, String timeZone, Instant after) {
        try {
            return Schedule.parse(schedule, ZoneId.of(timeZone)).nextOrNull(after);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * {@code base} with random spread: for a fraction below 1, between (1 − fraction) and (1 + fraction)
     * of it; for 1.0, anywhere between zero and all of it.
     */
    Duration randomized(Duration base, double fraction) {
        double u = random.getAsDouble();
        double factor = fraction >= 1.0 ? u : 1 - fraction + 2 * fraction * u;
        return Duration.ofNanos((long) (base.toNanos() * factor));
    }
}

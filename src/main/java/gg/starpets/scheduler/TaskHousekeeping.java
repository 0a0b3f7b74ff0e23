package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Once a heartbeat, on every instance: ends pauses whose time has come, retires configuration tasks
 * that no live instance defines any more, and moves SKIP tasks past a missed time. Each statement
 * changes a row once whichever instance runs it first; events say who. Each duty is a short
 * transaction of its own (a SKIP task, one statement each), waiting for a row another transaction
 * holds at most half a heartbeat: housekeeping never holds many rows locked, nor a thread for long,
 * and one duty failing does not undo the others.
 */
final class TaskHousekeeping {

    private static final Logger log = LoggerFactory.getLogger(TaskHousekeeping.class);

    private final SchedulerSettings settings;
    private final DataSource dataSource;
    private final TaskCommands commands;

    TaskHousekeeping(SchedulerSettings settings, DataSource dataSource, TaskCommands commands) {
        this.settings = settings;
        this.dataSource = dataSource;
        this.commands = commands;
    }

    void start(ScheduledExecutorService pool) {
        long nanos = settings.heartbeat().toNanos();
        pool.scheduleWithFixedDelay(this::runOnce, nanos, nanos, TimeUnit.NANOSECONDS);
    }

    void runOnce() {
        String actor = "scheduler:" + settings.instanceId();
        Duration lockTimeout = settings.heartbeat().dividedBy(2);
        try (Connection c = dataSource.getConnection()) {
            List<String> resumed = duty(
                    "pause ends",
                    List.of(),
                    () -> TaskRepository.inTransaction(c, lockTimeout, () -> {
                        List<String> names = commands.expirePauses(c, actor);
                        if (!names.isEmpty()) {
                            new TaskRepository().notifyTasksChanged(c); // sent at the commit
                        }
                        return names;
                    }));
            resumed.forEach(t -> log.info("Task {} resumed: its pause ended", t));
            List<String> retired = duty(
                    "retirement",
                    List.of(),
                    () -> TaskRepository.inTransaction(
                            c, lockTimeout, () -> commands.retireUndefined(c, settings.lease(), actor)));
            retired.forEach(t -> log.warn("Task {} disabled: no live instance defines it any more", t));
            int skipped = duty("misfires", 0, () -> commands.skipMisfires(c));
            if (skipped > 0) {
                log.info("{} missed due time(s) skipped (misfire SKIP)", skipped);
            }
        } catch (SQLException | RuntimeException e) {
            log.warn("Task housekeeping failed: {}", e.getMessage());
        }
    }

    private static <T> T duty(String name, T none, TaskRepository.Work<T> work) {
        try {
            return work.run();
        } catch (SQLException | RuntimeException e) {
            log.warn("Task housekeeping ({}) failed: {}", name, e.getMessage());
            return none;
        }
    }
}

package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Once a heartbeat, on every instance: ends pauses whose time has come, retires configuration tasks
 * that no live instance defines any more, and moves SKIP tasks past a missed time. Each statement
 * changes a row once whichever instance runs it first; events say who.
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
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                List<String> resumed = commands.expirePauses(c, actor);
                List<String> retired = commands.retireUndefined(c, settings.lease(), actor);
                int skipped = commands.skipMisfires(c);
                if (!resumed.isEmpty()) {
                    new TaskRepository().notifyTasksChanged(c); // sent at the commit
                }
                c.commit();
                resumed.forEach(t -> log.info("Task {} resumed: its pause ended", t));
                retired.forEach(t -> log.warn("Task {} disabled: no live instance defines it any more", t));
                if (skipped > 0) {
                    log.info("{} missed due time(s) skipped (misfire SKIP)", skipped);
                }
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException | RuntimeException e) {
            log.warn("Task housekeeping failed: {}", e.getMessage());
        }
    }
}

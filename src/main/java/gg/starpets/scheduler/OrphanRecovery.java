package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds tasks whose copy is gone (its session ended, or its lease ran out), ends their runs as
 * LOST and makes the tasks due at once, for any live copy to claim. Every copy does this; row
 * locks make sure each orphan is recovered once.
 */
final class OrphanRecovery {

    private static final Logger log = LoggerFactory.getLogger(OrphanRecovery.class);

    private final SchedulerSettings settings;
    private final DataSource dataSource;
    private final InstanceRepository instances;
    private final TaskRepository tasks;
    private final SchedulerEvents events;

    OrphanRecovery(
            SchedulerSettings settings,
            DataSource dataSource,
            InstanceRepository instances,
            TaskRepository tasks,
            SchedulerEvents events) {
        this.settings = settings;
        this.dataSource = dataSource;
        this.instances = instances;
        this.tasks = tasks;
        this.events = events;
    }

    int runOnce() {
        try (Connection c = dataSource.getConnection()) {
            int gone = instances.markGone(c, settings.lease());
            List<TaskRepository.Recovered> recovered = tasks.recoverOrphans(c);
            if (!recovered.isEmpty()) {
                tasks.notifyTasksChanged(c);
                recovered.forEach(r -> log.warn(
                        "Recovered task {} from instance {}: run {} marked LOST ({})",
                        r.task(),
                        r.formerInstance(),
                        r.lostRunId(),
                        r.reason()));
                events.tasksRecovered(recovered.size());
            }
            if (gone > 0) {
                log.info("{} instance(s) marked GONE", gone);
            }
            return recovered.size();
        } catch (SQLException | RuntimeException e) {
            log.warn("Recovery check failed: {}", e.getMessage());
            return 0;
        }
    }
}

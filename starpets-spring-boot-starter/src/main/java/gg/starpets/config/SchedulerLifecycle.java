package gg.starpets.config;

import gg.starpets.scheduler.Scheduler;
import gg.starpets.scheduler.TaskDefinition;
import java.util.List;
import org.springframework.context.SmartLifecycle;

/**
 * Syncs the configured concurrency groups and tasks and starts the scheduler once the application is up; on shutdown,
 * stops it gracefully before the connection pool closes.
 */
final class SchedulerLifecycle implements SmartLifecycle {

    private final Scheduler scheduler;
    private final Runnable syncGroups;
    private final List<TaskDefinition> definitions;
    private final boolean enabled;
    private volatile boolean running;

    SchedulerLifecycle(Scheduler scheduler, Runnable syncGroups, List<TaskDefinition> definitions, boolean enabled) {
        this.scheduler = scheduler;
        this.syncGroups = syncGroups;
        this.definitions = definitions;
        this.enabled = enabled;
    }

    @Override
    public void start() {
        // The groups' limits before their tasks: a task is never claimed under a limit not yet written.
        syncGroups.run();
        scheduler.syncTasks(definitions);
        if (enabled) {
            scheduler.start();
        }
        running = true;
    }

    @Override
    public void stop() {
        scheduler.close();
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Stops after the web server has stopped taking requests, while the connection pool is still open. */
    @Override
    public int getPhase() {
        return SmartLifecycle.DEFAULT_PHASE - 2048;
    }
}

package gg.starpets.config;

import gg.starpets.scheduler.Scheduler;
import gg.starpets.scheduler.TaskDefinition;
import java.util.List;
import org.springframework.context.SmartLifecycle;

/**
 * Syncs the configured tasks and starts the scheduler once the application is up; on shutdown,
 * stops it gracefully before the connection pool closes.
 */
final class SchedulerLifecycle implements SmartLifecycle {

    private final Scheduler scheduler;
    private final List<TaskDefinition> definitions;
    private final boolean enabled;
    private volatile boolean running;

    SchedulerLifecycle(Scheduler scheduler, List<TaskDefinition> definitions, boolean enabled) {
        this.scheduler = scheduler;
        this.definitions = definitions;
        this.enabled = enabled;
    }

    @Override
    public void start() {
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

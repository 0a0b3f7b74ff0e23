package gg.starpets.handlers;

import gg.starpets.scheduler.RunAdmission;
import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.TaskCommands;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks again, as each run of a task created over the API starts, that its handler is one such tasks
 * may use: {@code API_ALLOWED_OPERATOR_HANDLERS} may have changed since the task was written, or its
 * row been edited in the database. A refused run ends FAILED saying why ({@code not run: …}), and the
 * task is paused with that reason: it shows PAUSED, and runs again only once an operator resumes it
 * (refused again unless its handler is allowed by then) or changes its handler.
 */
public final class ApiTaskAdmission implements RunAdmission {

    private static final Logger log = LoggerFactory.getLogger(ApiTaskAdmission.class);

    private final HandlerRegistry registry;
    private final TaskCommands commands;
    private final String actor;

    /** @param actor who pauses a refused task in its audit trail: {@code scheduler:<instance>} */
    public ApiTaskAdmission(HandlerRegistry registry, TaskCommands commands, String actor) {
        this.registry = registry;
        this.commands = commands;
        this.actor = actor;
    }

    @Override
    public String refusal(RunContext run, String handler) {
        if (!run.fromApi()) {
            return null;
        }
        String reason = registry.refusalForApiTask(handler).orElse(null);
        if (reason == null) {
            return null;
        }
        log.warn("Run {} of {} not run, the task paused: {}", run.runId(), run.taskName(), reason);
        try {
            commands.pause(run.taskName(), null, null, reason, actor);
        } catch (RuntimeException e) {
            // The run still does not run; the next one is refused (and pauses it) again.
            log.warn("Could not pause {}: {}", run.taskName(), e.getMessage());
        }
        return reason;
    }
}

package gg.starpets.web;

import gg.starpets.handlers.HandlerRegistry;
import gg.starpets.scheduler.TaskCommands.Refusal;
import gg.starpets.scheduler.TaskCommands.RefusedException;
import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.scheduler.TaskRules;
import org.springframework.stereotype.Component;

/**
 * The service's rules for tasks operators and applications write, and for the one-off runs they ask for:
 * the same for the HTTP API and for the {@code StarPets} facade (which config builds with this bean).
 * The handler checks a task's params ({@link HandlerRegistry#checkApiTask}: an operator-only handler is
 * not for such tasks, an http task may not reach an internal address), and {@link TaskLimits} bounds
 * their number, their params and how often they run.
 */
@Component
class ApiTaskRules implements TaskRules {

    private final HandlerRegistry handlers;
    private final TaskLimits limits;

    ApiTaskRules(HandlerRegistry handlers, TaskLimits limits) {
        this.handlers = handlers;
        this.limits = limits;
    }

    /** A handler this service has, that such tasks may use, accepting the params; within {@link TaskLimits}. */
    @Override
    public void checkTask(TaskDefinition definition) {
        if (!handlers.handlers().containsKey(definition.handler())) {
            throw new TaskDefinition.InvalidTaskException(
                    definition.name(), "unknown handler '" + definition.handler() + "'");
        }
        allowed(definition);
        handlers.checkApiTask(definition);
        limits.check(definition);
    }

    @Override
    public void checkRoomForOneMore(long existing) {
        limits.roomForOneMore(existing);
    }

    /**
     * Params given by the caller are held to what such a task may do: an operator-only handler's (exec,
     * sql) params are the configuration's ({@link Refusal#HANDLER_NOT_ALLOWED}), and an http task's URL
     * may not reach an internal address. A run with the task's own params is checked as the task is.
     */
    @Override
    public void checkRun(TaskDefinition definition, boolean paramsGiven) {
        if (paramsGiven) {
            allowed(definition);
            handlers.checkApiTask(definition);
        } else {
            handlers.checkConfigured(definition);
        }
    }

    private void allowed(TaskDefinition definition) {
        handlers.refusalForApiTask(definition.handler()).ifPresent(reason -> {
            throw new RefusedException(Refusal.HANDLER_NOT_ALLOWED, reason);
        });
    }
}

package gg.starpets.scheduler;

/**
 * What a service checks, beyond a definition's own rules, before an operator or an application writes a
 * task or asks for a run of one: the same checks whichever way the change comes (the HTTP API, or
 * {@link StarPets}). The service's are its handlers' checks of params and its bounds on such tasks
 * ({@code web.ApiTaskRules}). A check refuses by throwing {@link TaskDefinition.InvalidTaskException}
 * (the definition or its params are invalid) or {@link TaskCommands.RefusedException} (not allowed, with
 * its {@link TaskCommands.Refusal}); nothing is written then.
 */
public interface TaskRules {

    /** Checks nothing: every definition its own constructor accepts, every run of a runnable task. */
    TaskRules NONE = new TaskRules() {};

    /** A definition about to be created, or to replace a task's. */
    default void checkTask(TaskDefinition definition) {}

    /** Before a task is created, with {@code existing} tasks created by operators and applications already there. */
    default void checkRoomForOneMore(long existing) {}

    /**
     * A one-off run about to be asked for: its task's definition with the params merged in;
     * {@code paramsGiven} when the caller gave params of its own (else the task's, as configured).
     */
    default void checkRun(TaskDefinition definition, boolean paramsGiven) {}
}

package gg.starpets.scheduler;

import java.util.Map;

/**
 * The function a task calls, registered under a name. A run ends SUCCEEDED when {@link #run}
 * returns, FAILED when it throws. It must stop promptly when its thread is interrupted (timeout,
 * shutdown, cancel, or lost lease): {@link RunContext#mayContinue}, {@link RunContext#sleep} and
 * {@link RunContext#checkInterrupted} help.
 */
@FunctionalInterface
public interface TaskHandler {

    void run(RunContext context) throws Exception;

    /**
     * Checks a task's parameters when the task is defined (at start-up, or when created over the
     * API): throws {@link IllegalArgumentException} saying what is wrong. Unknown keys are errors.
     */
    default void validate(Map<String, Object> params) {}

    /**
     * True for handlers that run what an operator writes (a program, a statement): only tasks from
     * configuration files may use them, unless the configuration allows it for API-created tasks.
     */
    default boolean operatorOnly() {
        return false;
    }

    /**
     * Called by the instance that recovers a task whose owner is gone (dead, frozen or cut off), before
     * the lost run is ended and the task may start again: makes sure that nothing the run started still
     * executes where this instance can reach it (a statement on a database server, say). Returns true
     * when sure (or when there is nothing to do); false to be asked again on the next recovery round,
     * the task staying unstartable meanwhile. Must not block for long: bounded by a few seconds. A call
     * that outlasts half a lease is interrupted and counts as false; one that goes on regardless holds
     * only its own run's task (it is not asked again before it returns), never the recovery of others.
     *
     * @param runId the lost run
     * @param params the task's params
     */
    default boolean fenceOff(long runId, Map<String, Object> params) throws Exception {
        return true;
    }
}

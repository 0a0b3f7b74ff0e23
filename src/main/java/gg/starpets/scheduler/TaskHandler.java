package gg.starpets.scheduler;

/**
 * The function a task calls, registered under a name. A run ends SUCCEEDED when {@link #run}
 * returns, FAILED when it throws. It must stop promptly when its thread is interrupted (timeout,
 * shutdown, or lost lease): {@link RunContext#sleep} and {@link RunContext#checkInterrupted} help.
 */
@FunctionalInterface
public interface TaskHandler {

    void run(RunContext context) throws Exception;
}

package gg.starpets.scheduler;

/**
 * A task's definition as stored, with what commands need to know of its state (read under its row lock,
 * {@link TaskCommands#locked}).
 */
public record StoredTask(
        long id,
        TaskDefinition definition,
        String source,
        long version,
        boolean running,
        boolean paused,
        boolean quarantined,
        boolean retired) {}

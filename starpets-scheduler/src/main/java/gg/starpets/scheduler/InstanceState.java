package gg.starpets.scheduler;

/** An instance's state as stored in {@code instances.state} (by name). */
enum InstanceState {
    /** Registered and claiming (counted for shares while its heartbeat is fresh). */
    RUNNING,
    /** Stopping: claims nothing more, its runs may finish; not counted for shares. */
    DRAINING,
    /** Stopped cleanly. */
    GONE
}

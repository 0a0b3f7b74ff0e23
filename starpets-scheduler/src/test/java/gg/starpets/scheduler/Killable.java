package gg.starpets.scheduler;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.SQLException;
import java.util.Map;
import java.util.function.Predicate;
import javax.sql.DataSource;

/**
 * An instance in this JVM that a test can kill as the database sees a SIGKILL: its two sessions end
 * (its lock is gone) and it never reaches the database again. Its threads live on, cut off: its runs
 * wait in their context, as a dead process's would have stopped. The witness is the database.
 */
final class Killable {

    final Scheduler scheduler;
    final String id;
    private final SchedulerCluster cluster;
    private final Predicate<Thread> mayStillReach;
    private volatile boolean dead;

    /**
     * @param mayStillReach threads of this instance that still reach the database once it is "dead"
     *     (none for a real death)
     */
    Killable(
            SchedulerCluster cluster,
            SchedulerSettings settings,
            Map<String, TaskHandler> handlers,
            Runnable halt,
            Predicate<Thread> mayStillReach) {
        this.cluster = cluster;
        this.id = settings.instanceId();
        this.mayStillReach = mayStillReach;
        this.scheduler = cluster.add(new Scheduler(
                settings,
                pool(),
                sessions("starpets-session-" + id),
                sessions("starpets-watch-" + id),
                handlers,
                SchedulerEvents.NONE,
                halt));
    }

    Killable(SchedulerCluster cluster, SchedulerSettings settings, Map<String, TaskHandler> handlers) {
        this(cluster, settings, handlers, () -> {}, thread -> false);
    }

    /** Ends both sessions of this instance and cuts it off from the database for good. */
    void kill() {
        dead = true;
        cluster.terminate("starpets-session-" + id, "starpets-watch-" + id);
    }

    boolean dead() {
        return dead;
    }

    private ConnectionFactory sessions(String applicationName) {
        ConnectionFactory real = cluster.named(applicationName);
        return () -> {
            if (dead) {
                throw new SQLException("instance " + id + " is dead (the test's)");
            }
            return real.open();
        };
    }

    private DataSource pool() {
        return (DataSource) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {DataSource.class}, (proxy, method, args) -> {
                    if (dead
                            && method.getName().equals("getConnection")
                            && !mayStillReach.test(Thread.currentThread())) {
                        throw new SQLException("instance " + id + " is dead (the test's)");
                    }
                    try {
                        return method.invoke(cluster.pool, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}

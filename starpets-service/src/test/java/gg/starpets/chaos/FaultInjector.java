package gg.starpets.chaos;

import static gg.starpets.chaos.ChaosCluster.nowMicros;

import gg.starpets.chaos.ChaosCluster.Instance;
import java.time.Duration;
import java.util.List;

/** Applies one fault to its victims and returns once it is over (a freeze thawed, a process gone). */
final class FaultInjector {

    /** When the fault was in effect, how long it lasted (0 where that means nothing), and what it did. */
    record Applied(long appliedMicros, long lengthMicros, String note) {}

    private final ChaosCluster cluster;
    private final ChaosSettings settings;

    FaultInjector(ChaosCluster cluster, ChaosSettings settings) {
        this.cluster = cluster;
        this.settings = settings;
    }

    Applied apply(FaultKind kind, List<Instance> victims, long injectedMicros) throws Exception {
        Instance v = victims.getFirst();
        return switch (kind) {
            case SIGKILL -> {
                cluster.kill(v);
                yield new Applied(nowMicros(), 0, "");
            }
            case SIGSTOP_SHORT -> freeze(v, settings.short_());
            case SIGSTOP_LONG -> freeze(v, settings.long_());
            case SESSION_KILL -> {
                long n = cluster.count(
                        "select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = ?",
                        "starpets-session-" + v.instanceId);
                yield new Applied(nowMicros(), 0, n == 0 ? "no session found to terminate" : "");
            }
            case CONNECTIONS_KILL -> {
                String id = v.instanceId;
                // By name (pool, scheduler pool, session, LISTEN) and by the proxy's ports: every connection of the
                // instance.
                long n = cluster.count(
                        """
                        select count(pg_terminate_backend(pid)) from pg_stat_activity
                         where pid <> pg_backend_pid()
                           and (application_name = any(?) or client_port = any(?))
                        """,
                        (Object) new String[] {
                            "starpets-" + id,
                            "starpets-scheduler-" + id,
                            "starpets-session-" + id,
                            "starpets-watch-" + id
                        },
                        v.proxy.upstreamPorts().toArray(Integer[]::new));
                yield new Applied(nowMicros(), 0, n == 0 ? "no connection found to terminate" : "");
            }
            case PG_RESTART -> {
                // Handlers do not need the database: the restart is in effect from its first moment.
                Duration down = cluster.postgres.fastRestart();
                yield new Applied(injectedMicros, down.toNanos() / 1_000, "");
            }
            case PG_CRASH -> crash(injectedMicros);
            case PG_PROMOTE -> {
                String note = "";
                if (!cluster.postgres.hasStandby()) {
                    cluster.postgres.prepareStandby();
                    note = "standby made just before (none was ready)";
                }
                // In effect from the primary's stop, once the standby streams (promote() waits for that first).
                Duration down = cluster.postgres.promote();
                long stopped = nowMicros() - down.toNanos() / 1_000;
                cluster.primaryMoved();
                yield new Applied(stopped, nowMicros() - stopped, note);
            }
            case CUT_SHORT -> cut(v, settings.short_());
            case CUT_LONG -> cut(v, settings.long_());
            case PROXY_RESET -> {
                v.proxy.reset();
                yield new Applied(nowMicros(), 0, "");
            }
            case SIGTERM -> {
                // The instance goes on with its runs while it drains: in effect at once.
                Duration limit = Duration.ofMinutes(2).plus(settings.lease());
                boolean exited = cluster.terminate(v, limit);
                yield new Applied(injectedMicros, 0, exited ? "" : "did not exit within " + limit + "; killed");
            }
        };
    }

    /**
     * SIGKILL of one backend: any backend's crash makes the postmaster end every session and
     * reinitialize. One of the instances' own (the oldest) is as good as any.
     */
    private Applied crash(long injectedMicros) throws Exception {
        List<String> backend = cluster.strings("select pid || ' ' || application_name from pg_stat_activity"
                + " where backend_type = 'client backend' and application_name like 'starpets-%'"
                + " order by backend_start limit 1");
        if (backend.isEmpty()) {
            return new Applied(nowMicros(), 0, "no backend of an instance found to kill");
        }
        String[] pidAndName = backend.getFirst().split(" ", 2);
        Duration down = cluster.postgres.crashRestart(Long.parseLong(pidAndName[0]));
        return new Applied(injectedMicros, down.toNanos() / 1_000, "SIGKILL of the backend of " + pidAndName[1]);
    }

    private Applied freeze(Instance v, Duration length) throws Exception {
        v.process.signal("STOP");
        long applied = nowMicros();
        Thread.sleep(length);
        v.process.signal("CONT");
        return new Applied(applied, nowMicros() - applied, "");
    }

    private Applied cut(Instance v, Duration length) throws InterruptedException {
        // Not even a close gets through: the instance giving up on its session is not seen by the server.
        v.proxy.partition();
        long applied = nowMicros();
        Thread.sleep(length);
        v.proxy.resume();
        return new Applied(applied, nowMicros() - applied, "");
    }
}

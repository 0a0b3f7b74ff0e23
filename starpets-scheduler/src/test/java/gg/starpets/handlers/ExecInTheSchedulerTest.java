package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.scheduler.ConnectionFactory;
import gg.starpets.scheduler.Scheduler;
import gg.starpets.scheduler.SchedulerEvents;
import gg.starpets.scheduler.SchedulerSettings;
import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.support.TestPostgres;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The exec handler in the real engine, against a real PostgreSQL: a graceful stop. */
class ExecInTheSchedulerTest {

    private static final Duration SLOW = Duration.ofSeconds(60);

    private final HikariDataSource pool = TestPostgres.migratedDatabase(5);
    private final ExecHandler handler = new ExecHandler(TaskSecrets.NONE);
    private final AtomicBoolean halted = new AtomicBoolean();
    private final List<Long> started = new ArrayList<>();

    @TempDir
    Path dir;

    @AfterEach
    void noProcessOfATestOutlivesIt() {
        // A safety net for a failing test; the test itself asserts that its processes are gone.
        started.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        handler.close();
        pool.close();
    }

    @Test
    void aGracefulStopWhoseProgramIgnoresSigtermEndsItAndHandsTheTaskBackWithoutHalting() throws Exception {
        // The engine waits half a lease for interrupted handlers, then halts: kill-after is far beyond that.
        SchedulerSettings settings = SchedulerSettings.builder("exec-instance")
                .lease(Duration.ofSeconds(4))
                .heartbeat(Duration.ofMillis(250))
                .poll(Duration.ofSeconds(1))
                .settle(Duration.ofMillis(100))
                .shutdownGrace(Duration.ofMillis(500))
                .build();
        ConnectionFactory own = () -> DriverManager.getConnection(pool.getJdbcUrl(), "postgres", "postgres");
        Scheduler scheduler = new Scheduler(
                settings, pool, own, own, Map.of("exec", handler), SchedulerEvents.NONE, () -> halted.set(true));
        Path file = dir.resolve("steps");
        scheduler.syncTasks(List.of(TaskDefinition.of(
                "export",
                "exec",
                "1h",
                "UTC",
                Duration.ofHours(1),
                true,
                Map.of("shell", true, "command", ExecHostProcess.witness(file, true), "kill-after", "1h"))));
        scheduler.start();
        List<Long> pids = ProgramSteps.awaitSteps(file, 3, SLOW);
        started.addAll(pids);

        scheduler.close();

        assertThat(halted).as("halted").isFalse();
        assertThat(pids).as("processes of the run once the instance stopped").allMatch(ProgramSteps::gone);
        try (var c = pool.getConnection();
                var rs = c.createStatement()
                        .executeQuery("select status, output from task_runs where task_name = 'export'")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString("status")).isEqualTo("INTERRUPTED");
            assertThat(rs.getString("output")).contains("SIGKILL to");
        }
    }
}

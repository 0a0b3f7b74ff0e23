package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An edit merged into the stored definition (the API's PATCH) is read and written in one transaction:
 * a concurrent edit waits for it and lands on top, never lost between the read and the write.
 */
class TaskUpdateTransactionTest {

    private static HikariDataSource db;
    private static TaskCommands commands;

    @BeforeAll
    static void database() {
        db = TestPostgres.migratedDatabase(4);
        commands = new TaskCommands(db);
        commands.create(
                TaskDefinition.of("edited", "noop", "@hourly", "UTC", Duration.ofMinutes(1), true, Map.of()), "test");
    }

    @AfterAll
    static void close() {
        db.close();
    }

    @Test
    void anEditMadeWhileAnotherIsBeingMergedWaitsAndKeepsBothChanges() throws Exception {
        CompletableFuture<?>[] other = new CompletableFuture<?>[1];
        commands.update(
                "edited",
                null,
                stored -> {
                    // Another operator's edit arrives while this one is being merged.
                    other[0] = CompletableFuture.runAsync(() ->
                            commands.update("edited", null, s -> s.withJitter(Duration.ofSeconds(7)), "operator:bob"));
                    await().atMost(Timing.SOON).until(() -> other[0].isDone() || waitsForALock());
                    return TaskDefinition.of(
                                    stored.name(),
                                    stored.handler(),
                                    stored.schedule(),
                                    stored.timeZone().getId(),
                                    Duration.ofMinutes(2),
                                    stored.enabled(),
                                    stored.params())
                            .withJitter(stored.jitter());
                },
                "operator:ann");
        other[0].get(Timing.SOON.toSeconds(), TimeUnit.SECONDS);

        TaskDefinition stored = commands.find("edited").definition();
        assertThat(stored.timeout()).as("ann's change").isEqualTo(Duration.ofMinutes(2));
        assertThat(stored.jitter()).as("bob's change, not overwritten").isEqualTo(Duration.ofSeconds(7));
    }

    private static boolean waitsForALock() throws SQLException {
        try (var c = db.getConnection();
                var st = c.createStatement();
                var rs = st.executeQuery(
                        "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()")) {
            rs.next();
            return rs.getInt(1) > 0;
        }
    }
}

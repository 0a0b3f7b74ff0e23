package gg.starpets.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.chaos.SqlWitness.Backend;
import gg.starpets.chaos.SqlWitness.CommittedRow;
import gg.starpets.chaos.SqlWitness.Observer;
import gg.starpets.chaos.SqlWitness.Origin;
import gg.starpets.chaos.SqlWitness.Origins;
import gg.starpets.chaos.WitnessLog.Event;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How samples of pg_stat_activity become witness events; times in µs. */
class SqlWitnessObserverTest {

    private final List<String> resolved = new ArrayList<>();
    private final Origins origins = (task, application, port, backendStart, start) -> {
        resolved.add(task + "@" + start);
        return new Origin("chaos-1", 4711, 42, 7);
    };

    private static Backend backend(long pid, String state, long start, long change, String task) {
        return new Backend(pid, state, start, change, 10, "starpets-chaos-1", 5432, task);
    }

    @Test
    void aStatementIsLiveFromItsStartUntilPostgresShowsItEnded() throws Exception {
        var observer = new Observer();

        List<Event> first = observer.observe(1_000, List.of(backend(5, "active", 800, 800, "01-sql")), origins);
        List<Event> second = observer.observe(1_100, List.of(backend(5, "active", 800, 800, "01-sql")), origins);
        List<Event> ended =
                observer.observe(1_200, List.of(backend(5, "idle in transaction", 800, 1_150, "01-sql")), origins);
        List<Event> later = observer.observe(1_300, List.of(backend(5, "idle", 800, 1_250, "01-sql")), origins);

        assertThat(first).extracting(Event::micros).containsExactly(800L, 1_000L);
        assertThat(first).allSatisfy(e -> {
            assertThat(e.end()).isFalse();
            assertThat(e.kind()).isEqualTo(HandlerKind.SQL);
            assertThat(e.execution()).isEqualTo("s:5:800");
            assertThat(e.runId()).isEqualTo(42);
            assertThat(e.host()).isEqualTo(4711);
        });
        assertThat(second).extracting(Event::micros).containsExactly(1_100L);
        assertThat(ended).singleElement().satisfies(e -> {
            assertThat(e.end()).isTrue();
            assertThat(e.micros()).as("state_change: when the statement ended").isEqualTo(1_150);
            assertThat(e.outcome()).isEqualTo("done");
        });
        assertThat(later).as("its end is told once").isEmpty();
        assertThat(resolved).as("its origin is looked up once").containsExactly("01-sql@800");
    }

    @Test
    void aStatementWhoseBackendIsGoneEndsAtTheSampleThatMissesIt() throws Exception {
        var observer = new Observer();
        observer.observe(1_000, List.of(backend(5, "active", 800, 800, "01-sql")), origins);

        List<Event> gone = observer.observe(1_100, List.of(backend(6, "active", 1_050, 1_050, null)), origins);

        assertThat(gone).singleElement().satisfies(e -> {
            assertThat(e.end()).isTrue();
            assertThat(e.outcome()).isEqualTo("gone");
            assertThat(e.micros()).isEqualTo(1_100);
        });
    }

    @Test
    void aTransactionThatEndedIsOverWhenItsBackendWentIdle() throws Exception {
        var observer = new Observer();
        observer.observe(1_000, List.of(backend(5, "active", 800, 800, "01-sql")), origins);

        List<Event> after = observer.observe(1_100, List.of(backend(5, "idle", 0, 1_040, null)), origins);

        assertThat(after).singleElement().satisfies(e -> {
            assertThat(e.end()).isTrue();
            assertThat(e.micros()).isEqualTo(1_040);
            assertThat(e.execution()).isEqualTo("s:5:800");
        });
    }

    @Test
    void aStatementSeenAgainInTheSameTransactionIsTheSameExecution() throws Exception {
        // Between its Parse and its Execute a statement's query_start moves; its transaction's start does not.
        var observer = new Observer();
        observer.observe(1_000, List.of(backend(5, "active", 800, 800, "01-sql")), origins);

        List<Event> again = observer.observe(1_100, List.of(backend(5, "active", 800, 1_050, "01-sql")), origins);

        assertThat(again).singleElement().satisfies(e -> {
            assertThat(e.end()).isFalse();
            assertThat(e.execution()).isEqualTo("s:5:800");
        });
    }

    @Test
    void theSameBackendsNextStatementOfTheTaskIsAnotherExecution() throws Exception {
        var observer = new Observer();
        observer.observe(1_000, List.of(backend(5, "active", 800, 800, "01-sql")), origins);

        List<Event> next = observer.observe(9_000, List.of(backend(5, "active", 8_000, 8_000, "01-sql")), origins);

        assertThat(next).extracting(Event::execution).contains("s:5:800", "s:5:8000");
        assertThat(next.stream().filter(e -> e.execution().equals("s:5:800")))
                .singleElement()
                .satisfies(e -> assertThat(e.end()).isTrue());
    }

    @Test
    void statementsOfNoSqlTaskAreNotWitnessed() throws Exception {
        assertThat(new Observer().observe(1_000, List.of(backend(5, "active", 800, 800, null)), origins))
                .isEmpty();
    }

    @Test
    void committedWorkIsTheSameExecutionAsTheStatementAndEndsAtItsCommit() throws Exception {
        var observer = new Observer();
        observer.observe(1_000, List.of(backend(5, "active", 800, 800, "01-sql")), origins);

        List<Event> committed = observer.committed(
                List.of(new CommittedRow("01-sql", 5, 10, "starpets-chaos-1", 800, 2_000, 2_300)), origins);

        assertThat(committed).extracting(Event::execution).containsOnly("s:5:800");
        assertThat(committed.getLast().end()).isTrue();
        assertThat(committed.getLast().outcome()).isEqualTo("committed");
        assertThat(committed.getLast().micros()).isEqualTo(2_300);
        assertThat(resolved).as("known from the sample").hasSize(1);
    }

    @Test
    void aVanishedBackendsStatementEndsWhenItsServerLogSaysTheBackendExited() throws Exception {
        var observer = new Observer();
        observer.observe(1_000_000, List.of(backend(5, "active", 800_000, 800_000, "01-sql")), origins);
        observer.observe(1_100_000, List.of(), origins);

        List<Event> exits = observer.exits(Map.of(5L, List.of(500_000L, 1_040_000L, 9_000_000L)));

        assertThat(exits).singleElement().satisfies(e -> {
            assertThat(e.end()).isTrue();
            assertThat(e.outcome()).isEqualTo("exited");
            assertThat(e.micros())
                    .as("the exit after it was last seen, not an earlier or a later backend's")
                    .isEqualTo(1_040_000);
            assertThat(e.execution()).isEqualTo("s:5:800000");
        });
        assertThat(observer.exits(Map.of()))
                .as("a crashed backend logs no exit")
                .isEmpty();
    }
}

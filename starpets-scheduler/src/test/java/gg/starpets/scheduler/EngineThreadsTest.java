package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** No engine thread or periodic duty ends silently: the instance says why it stopped working. */
class EngineThreadsTest {

    private final EngineThreads threads = new EngineThreads();
    private final List<String> told = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService pool = threads.housekeeping(2, "test-housekeeping-");

    @AfterEach
    void tearDown() {
        pool.shutdownNow();
    }

    @Test
    void aLoopThatThrowsIsAFailureNamedAfterItsThread() throws InterruptedException {
        threads.onFailure(told::add);
        Thread loop = threads.thread("starpets-test-loop", true, () -> {
            throw new NumberFormatException("For input string: \"x\"");
        });
        // Read through threads.failure() below. Left uncaught, it was reported as an error of a cluster
        // test running beside this one (CI run 55).
        loop.setUncaughtExceptionHandler((thread, e) -> {});
        loop.start();
        loop.join(Duration.ofSeconds(5));

        assertThat(threads.failure())
                .hasValue("starpets-test-loop ended by java.lang.NumberFormatException: For input string: \"x\"");
        assertThat(told).containsExactly(threads.failure().orElseThrow());
    }

    @Test
    void aLoopThatReturnsWhileTheSchedulerRunsIsAFailureButNotOnceItIsClosing() throws InterruptedException {
        Thread early = threads.thread("starpets-early", true, () -> {});
        early.start();
        early.join(Duration.ofSeconds(5));
        assertThat(threads.failure()).hasValue("starpets-early ended");

        EngineThreads closing = new EngineThreads();
        closing.closing();
        Thread late = closing.thread("starpets-late", true, () -> {});
        late.start();
        late.join(Duration.ofSeconds(5));
        assertThat(closing.failure()).isEmpty();
    }

    @Test
    void aPeriodicDutyThatThrowsKeepsItsScheduleAndIsNoFailure() {
        AtomicInteger runs = new AtomicInteger();
        pool.scheduleWithFixedDelay(
                () -> {
                    runs.incrementAndGet();
                    throw new IllegalStateException("one bad row");
                },
                0,
                1,
                TimeUnit.MILLISECONDS);

        await().atMost(Duration.ofSeconds(5)).until(() -> runs.get() >= 3);
        assertThat(threads.failure()).isEmpty();
    }

    @Test
    void aPeriodicDutyThatDiesOfAnErrorIsAFailure() {
        threads.onFailure(told::add);
        pool.scheduleWithFixedDelay(
                () -> {
                    throw new StackOverflowError();
                },
                0,
                1,
                TimeUnit.MILLISECONDS);

        await().atMost(Duration.ofSeconds(5)).until(() -> threads.failure().isPresent());
        assertThat(threads.failure()).hasValue("a housekeeping duty ended by java.lang.StackOverflowError");
        assertThat(told).hasSize(1);
    }

    @Test
    void aListenerAddedAfterTheFailureIsToldAtOnce() {
        threads.failed("another process has taken instance id a");
        threads.onFailure(told::add);
        assertThat(told).containsExactly("another process has taken instance id a");
    }
}

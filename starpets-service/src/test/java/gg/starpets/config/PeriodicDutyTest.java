package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class PeriodicDutyTest {

    /** Records the thread of every run. */
    static final class Recording extends PeriodicDuty {
        final List<Thread> runs = new CopyOnWriteArrayList<>();
        private final Duration initialDelay;

        Recording(Duration initialDelay) {
            super("test-duty");
            this.initialDelay = initialDelay;
        }

        @Override
        protected void runOnce() {
            runs.add(Thread.currentThread());
        }

        @Override
        protected Duration initialDelay() {
            return initialDelay;
        }

        @Override
        protected Duration interval() {
            return Duration.ofMillis(20);
        }
    }

    @Test
    void runsAgainAndAgainOnItsOwnDaemonThreadWhileStarted() {
        var duty = new Recording(Duration.ZERO);
        assertThat(duty.isRunning()).isFalse();
        duty.start();
        try {
            assertThat(duty.isRunning()).isTrue();
            await().atMost(Duration.ofSeconds(30)).until(() -> duty.runs.size() >= 3);
            assertThat(duty.runs).allSatisfy(t -> {
                assertThat(t.getName()).isEqualTo("test-duty");
                assertThat(t.isDaemon()).isTrue();
            });
        } finally {
            duty.stop();
        }
        assertThat(duty.isRunning()).isFalse();
        Thread thread = duty.runs.getFirst();
        await().atMost(Duration.ofSeconds(30)).until(() -> !thread.isAlive());
    }

    @Test
    void waitsItsInitialDelayBeforeTheFirstRun() {
        var duty = new Recording(Duration.ofHours(1));
        duty.start();
        try {
            var probe = new Recording(Duration.ZERO);
            probe.start();
            try {
                // a duty started at the same time with no delay has run several times meanwhile
                await().atMost(Duration.ofSeconds(30)).until(() -> probe.runs.size() >= 3);
            } finally {
                probe.stop();
            }
            assertThat(duty.runs).isEmpty();
        } finally {
            duty.stop();
        }
    }
}

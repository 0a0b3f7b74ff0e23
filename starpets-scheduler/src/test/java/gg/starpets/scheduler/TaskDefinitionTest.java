package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TaskDefinitionTest {

    private static final Duration MINUTE = Duration.ofMinutes(1);

    @Test
    void aValidDefinitionDefaultsToUtcAndEnabled() {
        TaskDefinition d = TaskDefinition.of("report-sales", "sleep", "*/2 * * * *", null, MINUTE, null, null);
        assertThat(d.timeZone().getId()).isEqualTo("UTC");
        assertThat(d.enabled()).isTrue();
        assertThat(d.params()).isEmpty();
    }

    @Test
    void aStartAtIsAnInstantWithItsOffsetAndAnythingElseIsRefusedNamingTheTaskAndTheKey() {
        assertThat(TaskDefinition.startAt("t", "start-at", "2026-12-07T06:00:00+03:00"))
                .isEqualTo(Instant.parse("2026-12-07T03:00:00Z"));
        assertThat(TaskDefinition.startAt("t", "start-at", " 2026-12-07T03:00:00Z "))
                .isEqualTo(Instant.parse("2026-12-07T03:00:00Z"));
        assertThat(TaskDefinition.startAt("t", "start-at", null)).isNull();
        assertThatThrownBy(() -> TaskDefinition.startAt("digest", "start-at", "2026-12-07T03:00:00"))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessage("Task 'digest': start-at must be an ISO-8601 time with its offset, such as"
                        + " 2026-12-07T03:00:00Z or 2026-12-07T06:00:00+03:00, not '2026-12-07T03:00:00'");
        assertThatThrownBy(() -> TaskDefinition.startAt("digest", "startAt", "tomorrow"))
                .hasMessageStartingWith("Task 'digest': startAt must be an ISO-8601 time");
    }

    @Test
    void anInvalidScheduleIsRefusedNamingTheTask() {
        assertThatThrownBy(() -> TaskDefinition.of("report-sales", "sleep", "every day", "UTC", MINUTE, true, Map.of()))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessageStartingWith("Task 'report-sales': invalid schedule");
    }

    @Test
    void aCronThatNeverFiresIsRefusedNamingTheTask() {
        assertThatThrownBy(() -> TaskDefinition.of("leap", "sleep", "0 0 30 2 *", "UTC", MINUTE, true, Map.of()))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessage("Task 'leap': invalid schedule: '0 0 30 2 *' never fires");
    }

    @Test
    void aNegativeOrZeroTimeoutIsRefused() {
        assertThatThrownBy(() -> TaskDefinition.of("t", "sleep", "30s", "UTC", Duration.ofSeconds(-5), true, null))
                .hasMessageContaining("Task 't': the timeout must be positive");
        assertThatThrownBy(() -> TaskDefinition.of("t", "sleep", "30s", "UTC", Duration.ZERO, true, null))
                .hasMessageContaining("timeout must be positive");
        assertThatThrownBy(() -> TaskDefinition.of("t", "sleep", "30s", "UTC", null, true, null))
                .hasMessageContaining("timeout must be positive");
    }

    @Test
    void badNamesHandlersAndZonesAreRefused() {
        assertThatThrownBy(() -> TaskDefinition.of("Bad Name", "sleep", "30s", "UTC", MINUTE, true, null))
                .hasMessageContaining("Task 'Bad Name': the name must be");
        assertThatThrownBy(() -> TaskDefinition.of("t", " ", "30s", "UTC", MINUTE, true, null))
                .hasMessageContaining("no handler");
        assertThatThrownBy(() -> TaskDefinition.of("t", "sleep", "30s", "Mars/Olympus", MINUTE, true, null))
                .hasMessageContaining("unknown time zone 'Mars/Olympus'");
    }

    @Test
    void aDurationKeptInMillisecondsMustBeWholeMillisecondsOrItWouldBeKeptAsAnotherValue() {
        Duration halfMillisecond = Duration.ofNanos(500_000);
        assertThatThrownBy(() -> new MisfirePolicy(MisfirePolicy.Kind.CATCH_UP, MINUTE, 10, halfMillisecond))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("catch-up-window must be whole milliseconds (it is kept in milliseconds), not 0.0005s");
        assertThatThrownBy(() -> new MisfirePolicy(MisfirePolicy.Kind.SKIP, Duration.ofNanos(1_500_000), 10, MINUTE))
                .hasMessageStartingWith("misfire-threshold must be whole milliseconds");
        assertThatThrownBy(() -> RetryPolicy.of(3, Duration.ofNanos(10), null, null))
                .hasMessageStartingWith("retry initial-backoff must be whole milliseconds");
        TaskDefinition d = TaskDefinition.of("t", "sleep", "30s", "UTC", MINUTE, true, null);
        assertThatThrownBy(() -> d.withJitter(Duration.ofNanos(1)))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessageStartingWith("Task 't': the jitter must be whole milliseconds");
        assertThat(d.withJitter(Duration.ofMillis(1500)).jitter()).isEqualTo(Duration.ofMillis(1500));
    }

    @Test
    void aDurationBeyondTheLongestIsRefused() {
        Duration tooLong = TaskDefinition.LONGEST.plusDays(1);
        assertThatThrownBy(() -> TaskDefinition.of("t", "sleep", "30s", "UTC", tooLong, true, null))
                .hasMessage("Task 't': the timeout must be at most 36500 days");
        assertThatThrownBy(() -> TaskDefinition.of("t", "sleep", "36501d", "UTC", MINUTE, true, null))
                .hasMessage("Task 't': invalid schedule: an interval must be at most 36500 days");
        assertThatThrownBy(() -> TaskDefinition.of("t", "sleep", "99999999999999999d", "UTC", MINUTE, true, null))
                .hasMessage("Task 't': invalid schedule: '99999999999999999d' is out of range");
        TaskDefinition d = TaskDefinition.of("t", "sleep", "30s", "UTC", MINUTE, true, null);
        assertThatThrownBy(() -> d.withJitter(tooLong)).hasMessage("Task 't': the jitter must be at most 36500 days");
        assertThatThrownBy(() -> new MisfirePolicy(MisfirePolicy.Kind.CATCH_UP, MINUTE, 10, tooLong))
                .hasMessage("catch-up-window must be at most 36500 days");
    }
}

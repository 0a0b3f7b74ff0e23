package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
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
}

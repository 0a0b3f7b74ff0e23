package gg.starpets.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChaosSettingsTest {

    @Test
    void theDefaultsAreTheServicesLeaseAndHeartbeatAndEveryFaultKind() {
        var s = ChaosSettings.fromEnvironment(new String[0], Map.of());

        assertThat(s.rounds()).isEqualTo(3);
        assertThat(s.instances()).isEqualTo(3);
        assertThat(s.lease()).isEqualTo(Duration.ofSeconds(10));
        assertThat(s.heartbeat()).isEqualTo(Duration.ofSeconds(1));
        assertThat(s.short_()).isEqualTo(Duration.ofSeconds(5));
        assertThat(s.long_()).isEqualTo(Duration.ofSeconds(15));
        assertThat(s.settleLimit()).isEqualTo(Duration.ofMinutes(1));
        assertThat(s.kinds()).containsExactly(FaultKind.values());
        assertThat(s.strict()).isFalse();
        assertThat(s.runDuration()).as("longer than the longest fault").isEqualTo(Duration.ofSeconds(30));
        assertThat(s.handlers()).containsExactly(HandlerKind.values());
        assertThat(s.taskNames())
                .hasSize(12)
                .startsWith("01-witness", "02-exec", "03-sql", "04-witness")
                .endsWith("12-sql");
    }

    @Test
    void aRunNoLongerThanTheLongestFaultIsRefused() {
        assertThatThrownBy(() -> ChaosSettings.fromEnvironment(new String[0], Map.of("CHAOS_RUN", "15s")))
                .hasMessageContaining("CHAOS_RUN")
                .hasMessageContaining("longer than the longest fault");
        assertThat(ChaosSettings.fromEnvironment(new String[0], Map.of("CHAOS_LEASE", "5s"))
                        .runDuration())
                .isEqualTo(Duration.ofSeconds(15));
    }

    @Test
    void handlerKindsCanBeChosen() {
        var s = ChaosSettings.fromEnvironment(new String[0], Map.of("CHAOS_HANDLERS", "exec", "CHAOS_TASKS", "2"));

        assertThat(s.taskNames()).containsExactly("01-exec", "02-exec");
        assertThatThrownBy(() -> ChaosSettings.fromEnvironment(new String[0], Map.of("CHAOS_HANDLERS", "cobol")))
                .hasMessageContaining("cobol");
    }

    @Test
    void aShorterLeaseKeepsTheRatioAndKindsCanBeChosen() {
        var s = ChaosSettings.fromEnvironment(
                new String[] {"1", "4"},
                Map.of("CHAOS_LEASE", "5s", "CHAOS_KINDS", "sigkill, pg-restart", "CHAOS_STRICT", "1"));

        assertThat(s.instances()).isEqualTo(4);
        assertThat(s.heartbeat()).isEqualTo(Duration.ofMillis(500));
        assertThat(s.short_()).isEqualTo(Duration.ofMillis(2500));
        assertThat(s.long_()).isEqualTo(Duration.ofMillis(7500));
        assertThat(s.kinds()).isEqualTo(List.of(FaultKind.SIGKILL, FaultKind.PG_RESTART));
        assertThat(s.strict()).isTrue();
    }

    @Test
    void nonsenseIsRefusedWithItsName() {
        assertThatThrownBy(() -> ChaosSettings.fromEnvironment(new String[0], Map.of("CHAOS_KINDS", "meteor")))
                .hasMessageContaining("meteor")
                .hasMessageContaining("sigkill");
        assertThatThrownBy(() -> ChaosSettings.fromEnvironment(new String[0], Map.of("CHAOS_LEASE", "soon")))
                .hasMessageContaining("CHAOS_LEASE");
        assertThatThrownBy(() -> ChaosSettings.fromEnvironment(new String[0], Map.of("CHAOS_SHORT", "20s")))
                .hasMessageContaining("shorter than the lease");
        assertThatThrownBy(() -> ChaosSettings.fromEnvironment(new String[] {"1", "1"}, Map.of()))
                .hasMessageContaining("2 instances");
    }
}

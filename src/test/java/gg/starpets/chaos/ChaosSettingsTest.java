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

package gg.starpets.deploy;

import static gg.starpets.deploy.RenderedChart.CHART;
import static gg.starpets.deploy.RenderedChart.YAML;
import static gg.starpets.deploy.RenderedChart.render;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The chart's monitoring objects are the compose stack's alerts and dashboards, from the same files. */
class HelmChartMonitoringTest {

    private static final Path ALERTS = Path.of("deploy/prometheus/rules/starpets-alerts.yml");
    private static final Path DASHBOARDS = Path.of("deploy/grafana/dashboards");

    @Test
    void thePrometheusRuleIsTheComposeStacksAlertsFileAndTheScrapeJobIsTheOneTheyQuery() throws Exception {
        RenderedChart chart = render(List.of("values-production.yaml"), Map.of());
        JsonNode rendered = YAML.valueToTree(chart.one(PrometheusRule.class).getSpec());
        JsonNode file = YAML.readTree(ALERTS.toFile());
        assertThat(rendered).isEqualTo(file);

        ServiceMonitor monitor = chart.one(ServiceMonitor.class);
        String job = chart.one(Service.class)
                .getMetadata()
                .getLabels()
                .get(monitor.getSpec().getJobLabel());
        Matcher up = Pattern.compile("up\\{job=\"([^\"]+)\"}").matcher(Files.readString(ALERTS));
        assertThat(up.find()).isTrue();
        assertThat(job).isEqualTo(up.group(1));
        var endpoint = monitor.getSpec().getEndpoints().getFirst();
        assertThat(List.of(endpoint.getPort(), endpoint.getPath())).containsExactly("http", "/metrics");
        // /metrics is closed: Prometheus scrapes with a viewer token from a Secret.
        var token = endpoint.getAuthorization().getCredentials();
        assertThat(endpoint.getAuthorization().getType()).isEqualTo("Bearer");
        assertThat(List.of(token.getName(), token.getKey())).containsExactly("starpets-prometheus-token", "token");
        assertThat(monitor.getSpec().getSelector().getMatchLabels())
                .isEqualTo(chart.one(Service.class).getSpec().getSelector());
    }

    @Test
    void aServiceMonitorWithoutATokenIsRefusedUnlessReadsArePublic() throws Exception {
        assertThatThrownBy(() -> render(List.of(), Map.of("serviceMonitor.enabled", true)))
                .hasMessageContaining("serviceMonitor.tokenSecret");
        ServiceMonitor open = render(List.of(), Map.of("serviceMonitor.enabled", true, "security.publicReads", true))
                .one(ServiceMonitor.class);
        assertThat(open.getSpec().getEndpoints().getFirst().getAuthorization()).isNull();
    }

    @Test
    void everyDashboardIsAConfigMapForTheGrafanaSidecarWithOnlyTheDatasourceReplaced() throws Exception {
        RenderedChart chart = render(List.of("values-production.yaml"), Map.of());
        Map<String, ConfigMap> byFile = chart.all(ConfigMap.class).stream()
                .filter(c -> c.getMetadata().getLabels().containsKey("grafana_dashboard"))
                .collect(Collectors.toMap(c -> c.getData().keySet().iterator().next(), Function.identity()));
        try (Stream<Path> files = Files.list(DASHBOARDS)) {
            assertThat(byFile.keySet())
                    .containsExactlyInAnyOrderElementsOf(
                            files.map(f -> f.getFileName().toString()).toList());
        }
        for (var entry : byFile.entrySet()) {
            assertThat(entry.getValue().getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
            String expected = Files.readString(DASHBOARDS.resolve(entry.getKey()))
                    .replace("\"uid\": \"starpets-prometheus\"", "\"uid\": \"prometheus\"");
            assertThat(YAML.readTree(entry.getValue().getData().get(entry.getKey())))
                    .isEqualTo(YAML.readTree(expected));
            assertThat(entry.getValue().getData().get(entry.getKey())).doesNotContain("starpets-prometheus");
        }
    }

    @Test
    void theChartsAlertsAndDashboardsAreLinksToTheComposeStacksFilesNotCopies() throws Exception {
        Path files = CHART.resolve("files");
        assertThat(Files.isSymbolicLink(files.resolve("starpets-alerts.yml"))).isTrue();
        assertThat(files.resolve("starpets-alerts.yml").toRealPath()).isEqualTo(ALERTS.toRealPath());
        try (Stream<Path> dashboards = Files.list(DASHBOARDS)) {
            for (Path d : dashboards.toList()) {
                Path link = files.resolve("dashboards").resolve(d.getFileName());
                assertThat(Files.isSymbolicLink(link)).as(link.toString()).isTrue();
                assertThat(link.toRealPath()).isEqualTo(d.toRealPath());
            }
        }
    }
}

package gg.starpets.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The provisioned Grafana dashboards: well-formed, on the fixed datasource, titled as required. */
class DashboardFilesTest {

    static final Path DASHBOARDS = Path.of("deploy/grafana/dashboards");
    static final String DATASOURCE_UID = "starpets-prometheus";

    static List<JsonNode> dashboards() throws IOException {
        JsonMapper json = JsonMapper.builder().build();
        try (Stream<Path> files = Files.list(DASHBOARDS)) {
            List<JsonNode> result = new ArrayList<>();
            for (Path f :
                    files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                result.add(json.readTree(f.toFile()));
            }
            return result;
        }
    }

    /** Every PromQL expression of every panel, with the dashboard variables filled in for "all". */
    static List<String> expressions() throws IOException {
        List<String> exprs = new ArrayList<>();
        for (JsonNode d : dashboards()) {
            for (JsonNode panel : d.get("panels")) {
                for (JsonNode target : panel.get("targets")) {
                    exprs.add(target.get("expr").asString().replace("$instance", ".*"));
                }
            }
        }
        return exprs;
    }

    @Test
    void theTwoRequiredDashboardsAreProvisionedOnceEach() throws IOException {
        assertThat(dashboards().stream().map(d -> d.get("title").asString()))
                .containsExactlyInAnyOrder("StarPets Dashboard", "Tasks Dashboard");
        assertThat(dashboards().stream().map(d -> d.get("uid").asString())).doesNotHaveDuplicates();
    }

    @Test
    void panelIdsAreUniqueWithinEachDashboard() throws IOException {
        for (JsonNode d : dashboards()) {
            Set<Integer> ids = new HashSet<>();
            for (JsonNode panel : d.get("panels")) {
                assertThat(ids.add(panel.get("id").asInt()))
                        .as("panel id %s in %s", panel.get("id"), d.get("title"))
                        .isTrue();
            }
        }
    }

    @Test
    void everyPanelAndQueryUsesTheProvisionedDatasource() throws IOException {
        for (JsonNode d : dashboards()) {
            for (JsonNode panel : d.get("panels")) {
                assertThat(panel.get("datasource").get("uid").asString()).isEqualTo(DATASOURCE_UID);
                assertThat(panel.get("targets").size()).isPositive();
                for (JsonNode target : panel.get("targets")) {
                    assertThat(target.get("datasource").get("uid").asString()).isEqualTo(DATASOURCE_UID);
                    assertThat(target.get("expr").asString()).isNotBlank();
                }
            }
            JsonNode instance = d.get("templating").get("list").get(0);
            assertThat(instance.get("name").asString()).isEqualTo("instance");
            assertThat(instance.get("datasource").get("uid").asString()).isEqualTo(DATASOURCE_UID);
        }
        assertThat(Files.readString(Path.of("deploy/grafana/provisioning/datasources/prometheus.yml")))
                .contains("uid: " + DATASOURCE_UID)
                .contains("url: http://prometheus:9090");
    }

    @Test
    void theTasksDashboardShowsActiveTasksPerInstance() throws IOException {
        assertThat(expressions()).contains("sum by (instance_id) (app_active_tasks_total{instance_id=~\".*\"})");
    }
}

package gg.starpets.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The provisioned Grafana dashboards: well-formed, on the fixed datasource, with the panels issue 5 asks for. */
class DashboardFilesTest {

    static final Path DASHBOARDS = Path.of("deploy/grafana/dashboards");
    static final String DATASOURCE_UID = "starpets-prometheus";
    static final String INSTANCE_FILTER = "instance_id=~\"$instance\"";

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** A metric selector of ours: the name, then its label matchers if any. */
    private static final Pattern SELECTOR =
            Pattern.compile("\\b((?:http|jvm|process|system|hikaricp|app|starpets)_[a-z0-9_]*)(\\{[^}]*})?");

    /**
     * Same value on every instance (read from the database), so panels take the max over all instances
     * and there is nothing per instance to filter.
     */
    private static final Set<String> DATABASE_WIDE = Set.of(
            "starpets_live_instances",
            "starpets_task_seconds_since_last_start",
            "starpets_task_expected_interval_seconds");

    /** The seed's cluster-wide total: all instances by definition. */
    private static final String SEED_TOTAL = "sum(app_active_tasks_total)";

    static List<JsonNode> dashboards() throws IOException {
        try (Stream<Path> files = Files.list(DASHBOARDS)) {
            List<JsonNode> result = new ArrayList<>();
            for (Path f :
                    files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                result.add(JSON.readTree(f.toFile()));
            }
            return result;
        }
    }

    /** Every panel that shows data, including those inside rows (a collapsed row holds its panels). */
    static List<JsonNode> panels(JsonNode dashboard) {
        List<JsonNode> result = new ArrayList<>();
        collect(dashboard.path("panels"), result);
        return result;
    }

    private static void collect(JsonNode panels, List<JsonNode> into) {
        for (JsonNode panel : panels) {
            if (!"row".equals(panel.path("type").asString(""))) {
                into.add(panel);
            }
            collect(panel.path("panels"), into);
        }
    }

    private static List<String> exprs(JsonNode panel) {
        List<String> result = new ArrayList<>();
        for (JsonNode target : panel.path("targets")) {
            result.add(target.path("expr").asString(""));
        }
        return result;
    }

    /** Every PromQL expression of every panel, with the dashboard variables filled in for "all". */
    static List<String> expressions() throws IOException {
        List<String> exprs = new ArrayList<>();
        for (JsonNode d : dashboards()) {
            for (JsonNode panel : panels(d)) {
                exprs.addAll(exprs(panel).stream()
                        .map(e -> e.replace("$instance", ".*"))
                        .toList());
            }
        }
        return exprs;
    }

    /** The queries of the dashboards' template variables, as written (Grafana's {@code label_values(...)}). */
    static List<String> variableQueries() throws IOException {
        List<String> queries = new ArrayList<>();
        for (JsonNode d : dashboards()) {
            for (JsonNode variable : d.path("templating").path("list")) {
                JsonNode query = variable.path("query");
                queries.add(query.isObject() ? query.path("query").asString() : query.asString());
            }
        }
        return queries;
    }

    @Test
    void theTwoRequiredDashboardsAreProvisionedOnceEach() throws IOException {
        assertThat(dashboards().stream().map(d -> d.get("title").asString()))
                .containsExactlyInAnyOrder("StarPets Dashboard", "Tasks Dashboard");
        assertThat(dashboards().stream().map(d -> d.get("uid").asString())).doesNotHaveDuplicates();
    }

    /** The run-duration panel shows exemplars, and the datasource links their trace ids to a traces datasource. */
    @Test
    void runDurationShowsExemplarsLinkedToTheirTrace() throws IOException {
        JsonNode tasks = dashboards().stream()
                .filter(d -> d.get("title").asString().equals("Tasks Dashboard"))
                .findFirst()
                .orElseThrow();
        // Exemplars are on the buckets only (OpenMetrics 1.0; TracingEnvironment), so a bucket query shows them.
        assertThat(panels(tasks).stream()
                        .flatMap(panel -> panel.path("targets").valueStream())
                        .filter(target -> target.path("exemplar").asBoolean(false))
                        .map(target -> target.path("expr").asString("")))
                .anyMatch(expr -> expr.contains("starpets_run_duration_seconds_bucket"));
        assertThat(Files.readString(Path.of("deploy/grafana/provisioning/datasources/prometheus.yml")))
                .contains("exemplarTraceIdDestinations:")
                .contains("- name: trace_id")
                .contains("datasourceUid: ${GRAFANA_TRACES_DATASOURCE_UID}");
    }

    @Test
    void panelIdsAreUniqueWithinEachDashboardRowsIncluded() throws IOException {
        for (JsonNode d : dashboards()) {
            Set<Integer> ids = new HashSet<>();
            List<JsonNode> all = new ArrayList<>();
            collectAll(d.path("panels"), all);
            for (JsonNode panel : all) {
                assertThat(ids.add(panel.get("id").asInt()))
                        .as("panel id %s in %s", panel.get("id"), d.get("title"))
                        .isTrue();
            }
        }
    }

    private static void collectAll(JsonNode panels, List<JsonNode> into) {
        for (JsonNode panel : panels) {
            into.add(panel);
            collectAll(panel.path("panels"), into);
        }
    }

    @Test
    void everyPanelAndQueryUsesTheProvisionedDatasource() throws IOException {
        for (JsonNode d : dashboards()) {
            for (JsonNode panel : panels(d)) {
                String title = panel.path("title").asString();
                assertThat(panel.path("datasource").path("uid").asString(""))
                        .as(title)
                        .isEqualTo(DATASOURCE_UID);
                assertThat(panel.path("targets").size()).as(title).isPositive();
                for (JsonNode target : panel.get("targets")) {
                    assertThat(target.path("datasource").path("uid").asString(""))
                            .as(title)
                            .isEqualTo(DATASOURCE_UID);
                    assertThat(target.path("expr").asString("")).as(title).isNotBlank();
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
    void theStarPetsDashboardHasEveryRequiredPanel() throws IOException {
        Map<String, Predicate<JsonNode>> required = new LinkedHashMap<>();
        required.put(
                "request rate by route and status",
                query(e -> e.contains("rate(http_requests_total")
                        && e.matches(".*by \\((path, ?status|status, ?path)\\).*")));
        required.put("error rate", query(e -> e.contains("http_requests_total") && e.contains("status=~\"5..\"")));
        required.put(
                "average latency, the seed's query",
                query(
                        e -> e.replace("{" + INSTANCE_FILTER + "}", "")
                                .equals(
                                        "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])")));
        required.put(
                "p95 latency",
                query(e ->
                        e.contains("histogram_quantile(0.95") && e.contains("http_request_duration_seconds_bucket")));
        required.put(
                "p99 latency",
                query(e ->
                        e.contains("histogram_quantile(0.99") && e.contains("http_request_duration_seconds_bucket")));
        required.put(
                "JVM heap by instance",
                query(e -> e.contains("jvm_memory_used_bytes")
                        && e.contains("area=\"heap\"")
                        && e.contains("by (instance_id)")));
        required.put(
                "JVM non-heap by instance",
                query(e -> e.contains("jvm_memory_used_bytes")
                        && e.contains("area=\"nonheap\"")
                        && e.contains("by (instance_id)")));
        required.put("CPU", query(e -> e.contains("process_cpu_usage")));
        required.put("GC", query(e -> e.contains("jvm_gc_")));
        required.put("threads", query(e -> e.contains("jvm_threads_live_threads")));
        required.put("connection pool", query(e -> e.contains("hikaricp_connections")));
        assertHasPanels("StarPets Dashboard", required);
    }

    @Test
    void theTasksDashboardHasEveryRequiredPanel() throws IOException {
        Map<String, Predicate<JsonNode>> required = new LinkedHashMap<>();
        required.put(
                "active tasks per instance",
                query(e -> e.equals("sum by (instance_id) (app_active_tasks_total{" + INSTANCE_FILTER + "})")));
        required.put("total active", query(e -> e.equals(SEED_TOTAL)));
        required.put(
                "runs per minute by status",
                query(e ->
                        e.contains("starpets_runs_finished_total") && e.contains("by (status)") && e.contains("[1m]")));
        required.put("run durations", query(e -> e.contains("starpets_run_duration_seconds")));
        required.put("start lag", query(e -> e.contains("starpets_run_start_lag_seconds")));
        required.put("recoveries", query(e -> e.contains("starpets_tasks_recovered_total")));
        required.put("live instances", query(e -> e.contains("starpets_live_instances")));
        assertHasPanels("Tasks Dashboard", required);
    }

    private static Predicate<JsonNode> query(Predicate<String> expr) {
        return panel -> exprs(panel).stream().anyMatch(expr);
    }

    private static void assertHasPanels(String title, Map<String, Predicate<JsonNode>> required) throws IOException {
        JsonNode dashboard = dashboards().stream()
                .filter(d -> d.get("title").asString().equals(title))
                .findFirst()
                .orElseThrow();
        List<JsonNode> panels = panels(dashboard);
        List<String> missing = required.entrySet().stream()
                .filter(r -> panels.stream().noneMatch(r.getValue()))
                .map(Map.Entry::getKey)
                .toList();
        assertThat(missing).as("panels missing from %s", title).isEmpty();
    }

    @Test
    void aShareOf5xxShowsZeroRatherThanNoDataWhenThereAreNone() throws IOException {
        // Without a 5xx series the numerator is empty, and so would be the division.
        assertThat(expressions().stream().filter(e -> e.contains("status=~\"5..\"") && e.contains(" / ")))
                .isNotEmpty()
                .allMatch(e -> e.contains("or vector(0))"));
    }

    @Test
    void everyPerInstanceQueryFiltersOnTheInstanceVariable() throws IOException {
        List<String> unfiltered = new ArrayList<>();
        for (JsonNode d : dashboards()) {
            for (JsonNode panel : panels(d)) {
                for (String expr : exprs(panel)) {
                    unfiltered.addAll(unfilteredSelectors(expr).stream()
                            .map(s -> panel.path("title").asString() + ": " + s)
                            .toList());
                }
            }
        }
        assertThat(unfiltered).isEmpty();
    }

    /** The selectors of per-instance metrics in {@code expr} that do not filter on {@code $instance}. */
    static List<String> unfilteredSelectors(String expr) {
        List<String> result = new ArrayList<>();
        if (expr.equals(SEED_TOTAL)) {
            return result;
        }
        Matcher m = SELECTOR.matcher(expr);
        while (m.find()) {
            if (!DATABASE_WIDE.contains(m.group(1))
                    && (m.group(2) == null || !m.group(2).contains(INSTANCE_FILTER))) {
                result.add(m.group());
            }
        }
        return result;
    }

    @Test
    void theInstanceFilterCheckCatchesAnySelectorWithoutIt() {
        assertThat(unfilteredSelectors("sum(rate(http_requests_total{instance_id=~\"$instance\"}[1m]))"))
                .isEmpty();
        assertThat(unfilteredSelectors("rate(http_request_duration_seconds_sum{instance_id=~\"$instance\"}[5m])"
                        + " / rate(http_request_duration_seconds_count[5m])"))
                .containsExactly("http_request_duration_seconds_count");
        assertThat(unfilteredSelectors("jvm_threads_live_threads{area=\"heap\"}"))
                .containsExactly("jvm_threads_live_threads{area=\"heap\"}");
        assertThat(unfilteredSelectors("max by (task) (starpets_task_seconds_since_last_start)"))
                .isEmpty();
    }

    @Test
    void panelsInsideRowsAreFoundAndRowsThemselvesAreNotPanels() {
        JsonNode dashboard = JSON.readTree("""
                {"panels": [
                  {"id": 1, "type": "timeseries", "title": "top", "targets": [{"expr": "up"}]},
                  {"id": 2, "type": "row", "title": "open row", "collapsed": false, "panels": []},
                  {"id": 3, "type": "row", "title": "closed row", "collapsed": true, "panels": [
                    {"id": 4, "type": "stat", "title": "inside", "targets": [{"expr": "sum(up)"}]}
                  ]}
                ]}
                """);
        assertThat(panels(dashboard).stream().map(p -> p.get("title").asString()))
                .containsExactly("top", "inside");
        assertThat(panels(JSON.readTree("{}"))).isEmpty();
    }

    @Test
    void everyDashboardHasAnInstanceVariableQueryingTheInstanceLabel() throws IOException {
        assertThat(variableQueries()).isNotEmpty().allMatch(q -> q.equals("label_values(jvm_info, instance_id)"));
    }
}

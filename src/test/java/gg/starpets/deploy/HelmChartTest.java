package gg.starpets.deploy;

import static gg.starpets.deploy.RenderedChart.CHART;
import static gg.starpets.deploy.RenderedChart.YAML;
import static gg.starpets.deploy.RenderedChart.render;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.TopologySpreadConstraint;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Helm chart (deploy/helm/starpets): Helm lints it, renders it with the default, the
 * production-like and the CloudNativePG values, every object is a valid Kubernetes object, and the
 * scheduler's rules hold in what is rendered.
 */
class HelmChartTest {

    private static final String PASSWORD = "s3cr3t-in-values";

    @Test
    void helmLintsTheChartWithoutWarnings() {
        var lint = new Helm(CHART).lint().strict().call();
        assertThat(lint.isFailed()).as(String.join("\n", lint.getMessages())).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "values-production.yaml", "values-cloudnativepg.yaml"})
    void everyValuesFileRendersValidObjectsThatKeepTheSchedulersRules(String valuesFile) throws Exception {
        RenderedChart chart = render(valuesFile.isEmpty() ? List.of() : List.of(valuesFile), Map.of());
        chart.keepForTheSchemaCheck(valuesFile.isEmpty() ? "values.yaml" : valuesFile);
        Deployment deployment = chart.one(Deployment.class);
        PodSpec pod = deployment.getSpec().getTemplate().getSpec();
        Container app = pod.getContainers().getFirst();
        Map<String, EnvVar> env = env(app);

        assertThat(deployment.getSpec().getReplicas()).isEqualTo(5);
        assertThat(env.get("TOTAL_INSTANCES").getValue()).isEqualTo("5");
        assertThat(env.get("INSTANCE_ID").getValueFrom().getFieldRef().getFieldPath())
                .isEqualTo("metadata.name");

        assertThat(app.getStartupProbe().getHttpGet().getPath()).isEqualTo("/actuator/health/liveness");
        assertThat(app.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/actuator/health/liveness");
        assertThat(app.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/actuator/health/readiness");
        assertThat(app.getReadinessProbe().getHttpGet().getPort().getStrVal()).isEqualTo("http");

        assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(gracefulStopSeconds(app));
        assertSecure(pod, app);
        for (String secret : List.of("DB_PASSWORD", "STARPETS_OPERATOR_TOKENS", "STARPETS_VIEWER_TOKENS")) {
            assertThat(env.get(secret).getValue()).as(secret + " inline").isNull();
            assertThat(env.get(secret).getValueFrom().getSecretKeyRef())
                    .as(secret)
                    .isNotNull();
        }

        assertThat(pod.getTopologySpreadConstraints())
                .extracting(TopologySpreadConstraint::getTopologyKey)
                .containsExactly("kubernetes.io/hostname", "topology.kubernetes.io/zone");
        Map<String, String> podLabels =
                deployment.getSpec().getTemplate().getMetadata().getLabels();
        assertThat(podLabels)
                .containsAllEntriesOf(deployment.getSpec().getSelector().getMatchLabels());
        assertThat(podLabels)
                .containsAllEntriesOf(chart.one(Service.class).getSpec().getSelector());
        PodDisruptionBudget pdb = chart.one(PodDisruptionBudget.class);
        assertThat(pdb.getSpec().getMaxUnavailable().getIntVal()).isEqualTo(1);
        assertThat(podLabels).containsAllEntriesOf(pdb.getSpec().getSelector().getMatchLabels());
    }

    @Test
    void theDefaultValuesRenderTheChartsOwnSecretAndNoOptionalObjects() throws Exception {
        RenderedChart chart = render(List.of(), Map.of());
        assertThat(chart.objects())
                .extracting(HasMetadata::getKind)
                .containsExactlyInAnyOrder("ServiceAccount", "Secret", "Service", "Deployment", "PodDisruptionBudget");
        Container app = chart.one(Deployment.class)
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .getFirst();
        // The image's own JVM flags, so that the heap share stated in values.yaml is the one in force.
        assertThat(env(app).get("JAVA_TOOL_OPTIONS").getValue()).isEqualTo(dockerfileJavaToolOptions());
        assertThat(app.getResources().getRequests().get("memory"))
                .isEqualTo(app.getResources().getLimits().get("memory"));
    }

    @Test
    void aPasswordGivenAsAValueGoesIntoTheSecretNeverIntoTheDeployment() throws Exception {
        RenderedChart chart =
                render(List.of(), Map.of("database.password", PASSWORD, "apiTokens.operatorTokens", "op-token-1"));
        Secret secret = chart.one(Secret.class);
        assertThat(secret.getData()).containsOnlyKeys("db-password", "operator-tokens");
        String deployment = chart.manifest().substring(chart.manifest().indexOf("kind: Deployment"));
        assertThat(deployment).doesNotContain(PASSWORD, "op-token-1");
        Map<String, EnvVar> env = env(chart.one(Deployment.class)
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .getFirst());
        assertThat(env.get("DB_PASSWORD").getValueFrom().getSecretKeyRef().getName())
                .isEqualTo(secret.getMetadata().getName());
    }

    @Test
    void existingSecretsAreReferencedAndTheChartCreatesNone() throws Exception {
        RenderedChart cnpg = render(List.of("values-cloudnativepg.yaml"), Map.of());
        assertThat(cnpg.all(Secret.class)).isEmpty();
        Map<String, EnvVar> env = env(cnpg.one(Deployment.class)
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .getFirst());
        assertThat(env.get("DB_HOST").getValue()).isEqualTo("starpets-db-rw");
        var password = env.get("DB_PASSWORD").getValueFrom().getSecretKeyRef();
        var user = env.get("DB_USER").getValueFrom().getSecretKeyRef();
        assertThat(List.of(password.getName(), password.getKey())).containsExactly("starpets-db-app", "password");
        assertThat(List.of(user.getName(), user.getKey())).containsExactly("starpets-db-app", "username");
        assertThat(env.get("STARPETS_OPERATOR_TOKENS")
                        .getValueFrom()
                        .getSecretKeyRef()
                        .getName())
                .isEqualTo("starpets-api-tokens");
    }

    @Test
    void theProductionValuesKeepTheInstanceSessionsOffTheTransactionPooler() throws Exception {
        RenderedChart chart = render(List.of("values-production.yaml"), Map.of());
        Map<String, EnvVar> env = env(chart.one(Deployment.class)
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .getFirst());
        assertThat(env.get("DB_PORT").getValue()).isEqualTo("6432");
        assertThat(env.get("DB_SESSION_HOST").getValue())
                .isNotEqualTo(env.get("DB_HOST").getValue());
        assertThat(env.get("DB_SESSION_PORT").getValue()).isEqualTo("5432");
        Ingress ingress = chart.one(Ingress.class);
        var backend = ingress.getSpec()
                .getRules()
                .getFirst()
                .getHttp()
                .getPaths()
                .getFirst()
                .getBackend()
                .getService();
        assertThat(backend.getName())
                .isEqualTo(chart.one(Service.class).getMetadata().getName());
        assertThat(backend.getPort().getName()).isEqualTo("http");
    }

    @Test
    void replicasAndShutdownSettingsFlowIntoTotalInstancesAndTheGracePeriod() throws Exception {
        RenderedChart chart = render(List.of(), Map.of("replicaCount", 7, "scheduler.shutdownGraceSeconds", 45));
        Deployment deployment = chart.one(Deployment.class);
        Container app =
                deployment.getSpec().getTemplate().getSpec().getContainers().getFirst();
        assertThat(deployment.getSpec().getReplicas()).isEqualTo(7);
        assertThat(env(app).get("TOTAL_INSTANCES").getValue()).isEqualTo("7");
        assertThat(env(app).get("SHUTDOWN_GRACE").getValue()).isEqualTo("45s");
        assertThat(deployment.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds())
                .isEqualTo(120 + 25)
                .isEqualTo(gracefulStopSeconds(app));
    }

    @Test
    void theStrictReaderRejectsAFieldInTheWrongPlaceAndAStringWhereANumberBelongs() {
        String misplaced = """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: x}
                spec:
                  selector: {matchLabels: {a: b}}
                  template:
                    metadata: {labels: {a: b}}
                    spec:
                      securityContext: {readOnlyRootFilesystem: true}
                      containers: [{name: x, image: y}]
                """;
        assertThatThrownBy(() -> RenderedChart.read(misplaced)).hasMessageContaining("readOnlyRootFilesystem");
        String quotedNumber = misplaced
                .replace("  selector:", "  replicas: \"5\"\n  selector:")
                .replace("securityContext: {readOnlyRootFilesystem: true}", "securityContext: {}");
        assertThatThrownBy(() -> RenderedChart.read(quotedNumber)).hasMessageContaining("replicas");
        String numberAsEnvValue = misplaced
                .replace("securityContext: {readOnlyRootFilesystem: true}", "securityContext: {}")
                .replace("{name: x, image: y}", "{name: x, image: y, env: [{name: N, value: 5}]}");
        assertThatThrownBy(() -> RenderedChart.read(numberAsEnvValue)).hasMessageContaining("value");
    }

    /** preStop pause + Spring's request drain (application.yml) + poll + grace + lease + margin. */
    private static int gracefulStopSeconds(Container app) throws IOException {
        JsonNode values = YAML.readTree(CHART.resolve("values.yaml").toFile());
        Map<String, EnvVar> env = env(app);
        int preStop = Integer.parseInt(
                app.getLifecycle().getPreStop().getExec().getCommand().get(1));
        return preStop
                + requestDrainSeconds()
                + seconds(env.get("SCHEDULER_POLL").getValue())
                + seconds(env.get("SHUTDOWN_GRACE").getValue())
                + seconds(env.get("SCHEDULER_LEASE").getValue())
                + values.path("shutdown").path("marginSeconds").asInt();
    }

    private static int requestDrainSeconds() throws IOException {
        JsonNode application =
                YAML.readTree(Path.of("src/main/resources/application.yml").toFile());
        return seconds(application
                .path("spring")
                .path("lifecycle")
                .path("timeout-per-shutdown-phase")
                .asText());
    }

    private static int seconds(String duration) {
        assertThat(duration).matches("\\d+s");
        return Integer.parseInt(duration.substring(0, duration.length() - 1));
    }

    private static void assertSecure(PodSpec pod, Container app) throws IOException {
        var podSecurity = pod.getSecurityContext();
        assertThat(podSecurity.getRunAsNonRoot()).isTrue();
        assertThat(podSecurity.getRunAsUser()).isEqualTo(dockerfileUid());
        assertThat(podSecurity.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        var security = app.getSecurityContext();
        assertThat(security.getReadOnlyRootFilesystem()).isTrue();
        assertThat(security.getAllowPrivilegeEscalation()).isFalse();
        assertThat(security.getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(pod.getAutomountServiceAccountToken()).isFalse();
        String tmp = app.getVolumeMounts().stream()
                .filter(m -> m.getMountPath().equals("/tmp"))
                .findFirst()
                .orElseThrow()
                .getName();
        assertThat(pod.getVolumes()).anySatisfy(v -> {
            assertThat(v.getName()).isEqualTo(tmp);
            assertThat(v.getEmptyDir()).isNotNull();
        });
    }

    private static long dockerfileUid() throws IOException {
        Matcher m = Pattern.compile("useradd [^\\n]*--uid (\\d+)").matcher(Files.readString(Path.of("Dockerfile")));
        assertThat(m.find()).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static String dockerfileJavaToolOptions() throws IOException {
        Matcher m =
                Pattern.compile("ENV JAVA_TOOL_OPTIONS=\"([^\"]+)\"").matcher(Files.readString(Path.of("Dockerfile")));
        assertThat(m.find()).isTrue();
        return m.group(1);
    }

    static Map<String, EnvVar> env(Container container) {
        return container.getEnv().stream().collect(Collectors.toMap(EnvVar::getName, Function.identity()));
    }
}

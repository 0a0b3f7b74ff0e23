package gg.starpets.deploy;

import static gg.starpets.deploy.RenderedChart.CHART;
import static gg.starpets.deploy.RenderedChart.YAML;
import static gg.starpets.deploy.RenderedChart.render;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.TopologySpreadConstraint;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
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
    /**
     * Helm's hooks (the roles Job) are not in what helm-java renders (the release's manifest, without its
     * hooks); rendered as ordinary objects they are.
     */
    private static final String HOOKS_AS_OBJECTS = "database.roles.hook";

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
        for (String secret : List.of(
                "DB_PASSWORD",
                "DB_OWNER_PASSWORD",
                "DB_SQL_PASSWORD",
                "STARPETS_OPERATOR_TOKENS",
                "STARPETS_VIEWER_TOKENS",
                "STARPETS_BALANCE_TOKENS")) {
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
        assertThat(secret.getData())
                .containsOnlyKeys("db-password", "db-owner-password", "db-sql-password", "operator-tokens");
        String deployment = chart.manifest().substring(chart.manifest().indexOf("kind: Deployment"));
        assertThat(deployment).doesNotContain(PASSWORD, "op-token-1");
        Map<String, EnvVar> env = appEnv(chart);
        assertThat(env.get("DB_PASSWORD").getValueFrom().getSecretKeyRef().getName())
                .isEqualTo(secret.getMetadata().getName());
    }

    @Test
    void existingSecretsAreReferencedAndTheChartCreatesNone() throws Exception {
        RenderedChart cnpg = render(List.of("values-cloudnativepg.yaml"), Map.of(HOOKS_AS_OBJECTS, false));
        assertThat(cnpg.all(Secret.class)).isEmpty();
        Map<String, EnvVar> env = appEnv(cnpg);
        assertThat(env.get("DB_HOST").getValue()).isEqualTo("starpets-db-rw");
        // The cluster's application user owns the database and migrates; the service runs as starpets_app.
        assertThat(ref(env, "DB_OWNER_USER")).containsExactly("starpets-db-app", "username");
        assertThat(ref(env, "DB_OWNER_PASSWORD")).containsExactly("starpets-db-app", "password");
        assertThat(env.get("DB_USER").getValue()).isEqualTo("starpets_app");
        assertThat(ref(env, "DB_PASSWORD")).containsExactly("starpets-db-roles", "password");
        assertThat(ref(env, "DB_SQL_PASSWORD")).containsExactly("starpets-db-roles", "sql-password");
        assertThat(ref(env, "STARPETS_OPERATOR_TOKENS").getFirst()).isEqualTo("starpets-api-tokens");
        // The roles Job knows the owner by the name the cluster gave it.
        Map<String, EnvVar> job = env(cnpg.one(Job.class)
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .getFirst());
        assertThat(job.get("STARPETS_DB_OWNER_ROLE").getValue()).isEqualTo("starpets");
        assertThat(job).doesNotContainKey("STARPETS_DB_OWNER_PASSWORD");
        assertThat(ref(job, "PGPASSWORD")).containsExactly("starpets-db-superuser", "password");
    }

    private static List<String> ref(Map<String, EnvVar> env, String name) {
        var ref = env.get(name).getValueFrom().getSecretKeyRef();
        return List.of(ref.getName(), ref.getKey());
    }

    @Test
    void theDeploymentRunsAsTheThreeRolesNeverAsTheOwnerAloneAndReadsStayClosed() throws Exception {
        Map<String, EnvVar> env = appEnv(render(List.of(), Map.of()));
        assertThat(env.get("DB_USER").getValue()).isEqualTo("starpets_app");
        assertThat(env.get("DB_OWNER_USER").getValue()).isEqualTo("starpets_owner");
        assertThat(env.get("DB_SQL_USER").getValue()).isEqualTo("starpets_sql");
        assertThat(env.get("STARPETS_PUBLIC_READS").getValue()).isEqualTo("false");
    }

    @Test
    void theProductionValuesRequireTokensAndStartNoPodWithoutTheOperatorAndBalanceOnes() throws Exception {
        Map<String, EnvVar> env = appEnv(render(List.of("values-production.yaml"), Map.of()));
        for (String tokens : List.of("STARPETS_OPERATOR_TOKENS", "STARPETS_BALANCE_TOKENS")) {
            assertThat(env.get(tokens).getValueFrom().getSecretKeyRef().getOptional())
                    .as(tokens)
                    .isNotEqualTo(Boolean.TRUE);
        }
        assertThatThrownBy(() -> render(List.of("values-production.yaml"), Map.of("apiTokens.existingSecret", "")))
                .hasMessageContaining("apiTokens.required");
        // The default values are a try-out: no token required, each instance would generate its own.
        Map<String, EnvVar> defaults = appEnv(render(List.of(), Map.of()));
        assertThat(defaults.get("STARPETS_OPERATOR_TOKENS")
                        .getValueFrom()
                        .getSecretKeyRef()
                        .getOptional())
                .isTrue();
    }

    @Test
    void theProductionValuesLetOnlyTheIngressControllerAndPrometheusInAndKeepLinkLocalOut() throws Exception {
        RenderedChart chart = render(List.of("values-production.yaml"), Map.of());
        NetworkPolicy policy = chart.one(NetworkPolicy.class);
        assertThat(policy.getSpec().getPodSelector().getMatchLabels())
                .isEqualTo(chart.one(Deployment.class).getSpec().getSelector().getMatchLabels());
        assertThat(policy.getSpec().getPolicyTypes()).containsExactly("Ingress", "Egress");
        var ingress = policy.getSpec().getIngress();
        assertThat(ingress).hasSize(1);
        assertThat(ingress.getFirst().getPorts().getFirst().getPort().getStrVal())
                .isEqualTo("http");
        assertThat(ingress.getFirst().getFrom())
                .extracting(peer -> peer.getNamespaceSelector().getMatchLabels().get("kubernetes.io/metadata.name"))
                .containsExactly("ingress-nginx", "monitoring");
        var blocks = policy.getSpec().getEgress().getFirst().getTo();
        assertThat(blocks).extracting(peer -> peer.getIpBlock().getCidr()).containsExactly("0.0.0.0/0", "::/0");
        assertThat(blocks.get(0).getIpBlock().getExcept()).containsExactly("169.254.0.0/16");
        assertThat(blocks.get(1).getIpBlock().getExcept()).containsExactly("fe80::/10");
        assertThat(render(List.of(), Map.of()).all(NetworkPolicy.class)).isEmpty();
    }

    @Test
    void theRolesJobRunsTheRepositorysRolesScriptAsTheAdminLoginWhichOnlyItHolds() throws Exception {
        RenderedChart chart = render(List.of("values-production.yaml"), Map.of(HOOKS_AS_OBJECTS, false));
        chart.keepForTheSchemaCheck("values-production-roles-job.yaml");
        Job job = chart.one(Job.class);
        assertThat(job.getMetadata().getName()).isEqualTo("starpets-roles-1");
        // As a hook (the default), Helm runs it before the instances are installed or upgraded.
        assertThat(render(List.of("values-production.yaml"), Map.of()).all(Job.class))
                .isEmpty();
        assertThat(Files.readString(CHART.resolve("templates/roles-job.yaml")))
                .contains("helm.sh/hook: pre-install,pre-upgrade");
        Container roles = job.getSpec().getTemplate().getSpec().getContainers().getFirst();
        Map<String, EnvVar> env = env(roles);
        assertThat(ref(env, "PGUSER")).containsExactly("starpets-db-admin", "username");
        assertThat(ref(env, "STARPETS_DB_OWNER_PASSWORD")).containsExactly("starpets-db", "owner-password");
        assertThat(roles.getCommand()).containsExactly("sh", "/starpets/roles.sh");
        ConfigMap script = chart.all(ConfigMap.class).stream()
                .filter(c -> c.getData().containsKey("roles.sql"))
                .findFirst()
                .orElseThrow();
        assertThat(script.getData().get("roles.sql"))
                .isEqualTo(Files.readString(Path.of("starpets-scheduler/src/main/resources/db/roles.sql"))
                        .strip());
        assertThat(script.getData().get("roles.sh"))
                .isEqualTo(Files.readString(Path.of("deploy/postgres/initdb/10-roles.sh"))
                        .strip());
        assertThat(Files.isSymbolicLink(CHART.resolve("files/roles.sql"))).isTrue();
        // The instances never hold the admin login, and the Job's pod is none of theirs.
        String deployment = chart.manifest()
                .substring(chart.manifest().indexOf("kind: Deployment"))
                .split("\n---")[0];
        assertThat(deployment).doesNotContain("starpets-db-admin");
        assertThat(job.getSpec().getTemplate().getMetadata().getLabels())
                .doesNotContainEntry(
                        "app.kubernetes.io/name",
                        chart.one(Service.class).getSpec().getSelector().get("app.kubernetes.io/name"));
        assertThatThrownBy(() -> render(List.of("values-production.yaml"), Map.of("database.existingSecret", "")))
                .hasMessageContaining("database.roles.create needs database.existingSecret");
    }

    @Test
    void theProductionValuesKeepTheInstanceSessionsOffTheTransactionPooler() throws Exception {
        RenderedChart chart = render(List.of("values-production.yaml"), Map.of());
        Map<String, EnvVar> env = appEnv(chart);
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
        JsonNode application = YAML.readTree(
                Path.of("starpets-service/src/main/resources/application.yml").toFile());
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

    /** The instances' environment, as the Deployment renders it. */
    static Map<String, EnvVar> appEnv(RenderedChart chart) {
        return env(chart.one(Deployment.class)
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .getFirst());
    }

    static Map<String, EnvVar> env(Container container) {
        return container.getEnv().stream().collect(Collectors.toMap(EnvVar::getName, Function.identity()));
    }
}

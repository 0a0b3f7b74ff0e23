package gg.starpets.deploy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import io.fabric8.openshift.api.model.monitoring.v1alpha1.AlertmanagerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The chart rendered by Helm itself (helm-java: Helm's Go code, linked natively; no binary, no
 * cluster), every object read strictly into fabric8's model of its kind: a field the Kubernetes
 * API (or the Prometheus Operator's CRD) does not have, a field in the wrong place, a wrong type
 * or a duplicate key fails the read, as {@code kubectl apply} with strict field validation would.
 */
record RenderedChart(String manifest, List<HasMetadata> objects) {

    static final Path CHART = Path.of("deploy/helm/starpets");
    static final String RELEASE = "starpets";
    static final String NAMESPACE = "starpets";
    /** The Kubernetes release the models below describe (fabric8 7.7: 1.34, August 2025). */
    static final String KUBERNETES = "1.34.0";

    /** The API versions and kinds the chart may render, and the model each is checked against. */
    private static final Map<String, Class<? extends HasMetadata>> MODELS = Map.ofEntries(
            Map.entry("v1/ServiceAccount", ServiceAccount.class),
            Map.entry("v1/Secret", Secret.class),
            Map.entry("v1/Service", Service.class),
            Map.entry("v1/ConfigMap", ConfigMap.class),
            Map.entry("apps/v1/Deployment", Deployment.class),
            Map.entry("batch/v1/Job", Job.class),
            Map.entry("policy/v1/PodDisruptionBudget", PodDisruptionBudget.class),
            Map.entry("networking.k8s.io/v1/Ingress", Ingress.class),
            Map.entry("networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class),
            Map.entry("monitoring.coreos.com/v1/ServiceMonitor", ServiceMonitor.class),
            Map.entry("monitoring.coreos.com/v1/PrometheusRule", PrometheusRule.class),
            Map.entry("monitoring.coreos.com/v1alpha1/AlertmanagerConfig", AlertmanagerConfig.class));

    static final ObjectMapper YAML =
            new ObjectMapper(new YAMLFactory()).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** Unknown fields fail (fabric8 would otherwise keep them in additionalProperties); no type coercion. */
    static final ObjectMapper STRICT = strictMapper();

    private static ObjectMapper strictMapper() {
        ObjectMapper mapper = JsonMapper.builder()
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .annotationIntrospector(new JacksonAnnotationIntrospector() {
                    @Override
                    public Boolean hasAnySetter(Annotated a) {
                        return false;
                    }
                })
                .build();
        for (LogicalType type : List.of(LogicalType.Integer, LogicalType.Float, LogicalType.Boolean)) {
            mapper.coercionConfigFor(type).setCoercion(CoercionInputShape.String, CoercionAction.Fail);
        }
        for (CoercionInputShape shape :
                List.of(CoercionInputShape.Integer, CoercionInputShape.Float, CoercionInputShape.Boolean)) {
            mapper.coercionConfigFor(LogicalType.Textual).setCoercion(shape, CoercionAction.Fail);
        }
        return mapper;
    }

    /** Renders the chart with these values files (relative to the chart) and {@code --set} pairs. */
    static RenderedChart render(List<String> valuesFiles, Map<String, Object> set) throws IOException {
        TemplateCommand template = new Helm(CHART)
                .template()
                .withName(RELEASE)
                .withNamespace(NAMESPACE)
                .withKubeVersion(KUBERNETES);
        valuesFiles.forEach(f -> template.withValuesFile(CHART.resolve(f)));
        set.forEach(template::set);
        String manifest = template.call();
        return new RenderedChart(manifest, read(manifest));
    }

    static List<HasMetadata> read(String manifest) throws IOException {
        List<HasMetadata> objects = new ArrayList<>();
        try (var documents = YAML.readerFor(JsonNode.class).<JsonNode>readValues(manifest)) {
            while (documents.hasNext()) {
                JsonNode document = documents.next();
                if (document == null || document.isNull() || document.isEmpty()) {
                    continue;
                }
                String kind = document.path("apiVersion").asText() + "/"
                        + document.path("kind").asText();
                Class<? extends HasMetadata> model = MODELS.get(kind);
                if (model == null) {
                    throw new IllegalArgumentException("an object this test has no model for: " + kind);
                }
                try {
                    objects.add(STRICT.treeToValue(document, model));
                } catch (IOException e) {
                    throw new IllegalArgumentException(
                            kind + " " + document.path("metadata").path("name").asText() + ": " + e.getMessage(), e);
                }
            }
        }
        return objects;
    }

    /**
     * Writes the manifest where .ci/checks.d/35-helm-schema validates it against the API's JSON
     * schemas (required fields, formats, the CRDs' patterns: what the models here do not check).
     */
    void keepForTheSchemaCheck(String valuesFile) throws IOException {
        Path dir = Path.of(System.getProperty("starpets.helm.rendered", "target/helm-rendered"));
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(valuesFile.replace(".yaml", "") + ".rendered.yaml"), manifest);
    }

    <T extends HasMetadata> List<T> all(Class<T> kind) {
        return objects.stream().filter(kind::isInstance).map(kind::cast).toList();
    }

    <T extends HasMetadata> T one(Class<T> kind) {
        List<T> found = all(kind);
        if (found.size() != 1) {
            throw new AssertionError("expected one " + kind.getSimpleName() + ", found " + found.size());
        }
        return found.getFirst();
    }
}

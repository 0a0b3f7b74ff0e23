package gg.starpets.deploy;

import static gg.starpets.deploy.RenderedChart.render;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.openshift.api.model.monitoring.v1alpha1.AlertmanagerConfig;
import io.fabric8.openshift.api.model.monitoring.v1alpha1.Receiver;
import io.fabric8.openshift.api.model.monitoring.v1alpha1.Route;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The chart's AlertmanagerConfig (for an Alertmanager of the Prometheus Operator): off by default; when
 * on, routed by the rules' severity and its receiver's URLs and password read from a Secret, never
 * written into the rendered objects.
 */
class HelmChartAlertmanagerConfigTest {

    @Test
    void offByDefault() throws Exception {
        assertThat(render(List.of(), Map.of()).all(AlertmanagerConfig.class)).isEmpty();
    }

    @Test
    void theProductionValuesSendEveryAlertToTheWebhookInTheirSecretRoutedBySeverity() throws Exception {
        RenderedChart chart = render(List.of("values-production.yaml"), Map.of());
        AlertmanagerConfig config = chart.one(AlertmanagerConfig.class);
        assertThat(config.getMetadata().getLabels()).containsEntry("release", "kube-prometheus-stack");

        Route route = config.getSpec().getRoute();
        assertThat(route.getReceiver()).isEqualTo("starpets");
        assertThat(route.getGroupBy()).containsExactly("alertname", "task");
        // The severities the shipped rules use, each with its own route.
        assertThat(route.getRoutes())
                .map(r -> r.get("matchers").get(0).get("name").asText() + "="
                        + r.get("matchers").get(0).get("value").asText())
                .containsExactly("severity=critical", "severity=warning");

        Receiver receiver = config.getSpec().getReceivers().getFirst();
        var webhook = receiver.getWebhookConfigs().getFirst();
        assertThat(List.of(
                        webhook.getUrlSecret().getName(), webhook.getUrlSecret().getKey()))
                .containsExactly("starpets-alerts", "webhook-url");
        assertThat(webhook.getUrl()).isNull();
        assertThat(receiver.getSlackConfigs()).isEmpty();
        assertThat(receiver.getEmailConfigs()).isEmpty();
    }

    @Test
    void slackAndEmailReadTheirUrlAndPasswordFromTheSecret() throws Exception {
        Receiver receiver = render(
                        List.of(),
                        Map.of(
                                "alertmanagerConfig.enabled", true,
                                "alertmanagerConfig.secret", "team-alerts",
                                "alertmanagerConfig.slackApiUrlKey", "slack-url",
                                "alertmanagerConfig.slackChannel", "#ops",
                                "alertmanagerConfig.email.to", "ops@example.com",
                                "alertmanagerConfig.email.from", "starpets@example.com",
                                "alertmanagerConfig.email.smarthost", "smtp.example.com:587",
                                "alertmanagerConfig.email.authUsername", "starpets",
                                "alertmanagerConfig.email.authPasswordKey", "smtp-password"))
                .one(AlertmanagerConfig.class)
                .getSpec()
                .getReceivers()
                .getFirst();
        var slack = receiver.getSlackConfigs().getFirst();
        assertThat(List.of(slack.getApiURL().getName(), slack.getApiURL().getKey(), slack.getChannel()))
                .containsExactly("team-alerts", "slack-url", "#ops");
        var email = receiver.getEmailConfigs().getFirst();
        assertThat(List.of(email.getTo(), email.getSmarthost(), email.getAuthUsername()))
                .containsExactly("ops@example.com", "smtp.example.com:587", "starpets");
        assertThat(List.of(
                        email.getAuthPassword().getName(),
                        email.getAuthPassword().getKey()))
                .containsExactly("team-alerts", "smtp-password");
        assertThat(email.getRequireTLS()).isTrue();
        assertThat(receiver.getWebhookConfigs()).isEmpty();
    }

    @Test
    void onWithoutAReceiverOrItsSecretIsRefused() {
        assertThatThrownBy(() -> render(List.of(), Map.of("alertmanagerConfig.enabled", true)))
                .hasMessageContaining("set at least one receiver");
        assertThatThrownBy(() -> render(
                        List.of(),
                        Map.of("alertmanagerConfig.enabled", true, "alertmanagerConfig.webhookUrlKey", "url")))
                .hasMessageContaining("alertmanagerConfig.secret");
    }
}

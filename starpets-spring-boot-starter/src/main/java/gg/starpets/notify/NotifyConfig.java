package gg.starpets.notify;

import gg.starpets.config.StarPetsProperties;
import gg.starpets.handlers.HttpDestinations;
import gg.starpets.handlers.TaskSecrets;
import gg.starpets.handlers.WebhookPost;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Builds the webhook sender as the http handler is built: the same task secrets, the same fence. */
@Configuration
class NotifyConfig {

    @Bean
    WebhookPost webhookPost(TaskSecrets secrets, StarPetsProperties properties) {
        return new WebhookPost(
                secrets, HttpDestinations.parse(properties.handlers().httpAllowedDestinations()));
    }
}

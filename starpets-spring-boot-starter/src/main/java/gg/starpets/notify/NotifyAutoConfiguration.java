package gg.starpets.notify;

import gg.starpets.config.StarPetsAutoConfiguration;
import gg.starpets.observability.ObservabilityAutoConfiguration;
import gg.starpets.scheduler.Scheduler;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Import;

/** Per-task notifications (docs/notifications.md), in an application that has StarPets' engine. */
@AutoConfiguration(after = {StarPetsAutoConfiguration.class, ObservabilityAutoConfiguration.class})
@ConditionalOnBean(Scheduler.class)
@EnableConfigurationProperties(NotifySettings.class)
@Import({NotifyConfig.class, NotificationRepository.class, TaskNotifications.class, NotifyDuty.class})
public class NotifyAutoConfiguration {}

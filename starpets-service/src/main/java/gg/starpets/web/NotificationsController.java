package gg.starpets.web;

import gg.starpets.notify.TaskNotifications;
import gg.starpets.scheduler.TaskViews;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** A task's notifications: what it is notified of (the webhook masked) and what was sent, newest first. */
@RestController
class NotificationsController {

    private final TaskNotifications notifications;
    private final TaskViews tasks;

    NotificationsController(TaskNotifications notifications, TaskViews tasks) {
        this.notifications = notifications;
        this.tasks = tasks;
    }

    @GetMapping("/tasks/{name}/notifications")
    TaskNotifications.View notifications(@PathVariable String name, @RequestParam(required = false) String limit) {
        if (!tasks.exists(name)) {
            throw TaskResponse.notFound(name);
        }
        return notifications.view(name, Params.limit(limit));
    }
}

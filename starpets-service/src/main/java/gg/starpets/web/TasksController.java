package gg.starpets.web;

import gg.starpets.scheduler.RunRepository;
import gg.starpets.scheduler.RunRepository.RunFilter;
import gg.starpets.scheduler.RunRepository.RunRow;
import gg.starpets.scheduler.RunStatus;
import gg.starpets.scheduler.TaskViews;
import gg.starpets.web.TaskResponse.TaskList;
import java.util.List;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** The tasks and their history, read from the database at request time: the same through every instance (B9). */
@RestController
class TasksController {

    record RunList(List<RunRow> runs) {}

    private final TaskViews tasks;
    private final RunRepository runs;

    TasksController(TaskViews tasks, RunRepository runs) {
        this.tasks = tasks;
        this.runs = runs;
    }

    @GetMapping("/tasks")
    TaskList list() {
        return TaskList.of(tasks.find(null));
    }

    @GetMapping("/tasks/{name}")
    ResponseEntity<TaskResponse> get(@PathVariable String name) {
        return TaskResponse.entity(ResponseEntity.ok(), tasks.find(name), name);
    }

    @GetMapping("/tasks/{name}/runs")
    RunList runsOfTask(
            @PathVariable String name,
            @RequestParam(required = false) String limit,
            @RequestParam(required = false) String before) {
        if (tasks.find(name).tasks().isEmpty()) {
            throw TaskResponse.notFound(name);
        }
        return new RunList(runs.find(new RunFilter(
                name, null, null, Params.positiveLong("before", before), Params.limit(limit), null, null)));
    }

    /** One run: where a one-off run's or a backfill's {@code Location} points. */
    @GetMapping("/runs/{id}")
    RunRow run(@PathVariable long id) {
        return runs.findById(id).orElseThrow(() -> ApiException.notFound("run_not_found", "No run " + id));
    }

    /** Across tasks, newest first; {@code from}/{@code to}: runs started in that time (ISO-8601 instants). */
    @GetMapping("/runs")
    RunList allRuns(
            @RequestParam(required = false) String task,
            @RequestParam(required = false) String status,
            @RequestParam(required = false) String instanceId,
            @RequestParam(required = false) String from,
            @RequestParam(required = false) String to,
            @RequestParam(required = false) String limit,
            @RequestParam(required = false) String before) {
        return new RunList(runs.find(new RunFilter(
                Params.text(task),
                Params.oneOf("status", status, RunStatus.class),
                Params.text(instanceId),
                Params.positiveLong("before", before),
                Params.limit(limit),
                Params.instant("from", from),
                Params.instant("to", to))));
    }
}

package gg.starpets.web;

import gg.starpets.scheduler.InstanceRepository;
import gg.starpets.scheduler.InstanceRepository.InstanceRow;
import java.util.List;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** GET /instances — the instances the database knows about. */
@RestController
class InstancesController {

    record InstanceList(List<InstanceRow> instances) {}

    private final InstanceRepository instances;

    InstancesController(InstanceRepository instances) {
        this.instances = instances;
    }

    @GetMapping("/instances")
    InstanceList list() {
        return new InstanceList(instances.findAll());
    }
}

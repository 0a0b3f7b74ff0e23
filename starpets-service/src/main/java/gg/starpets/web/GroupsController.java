package gg.starpets.web;

import gg.starpets.scheduler.GroupRepository;
import gg.starpets.scheduler.GroupRepository.Group;
import jakarta.servlet.http.HttpServletRequest;
import java.util.List;
import java.util.Set;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;

/**
 * Concurrency groups (docs/api.md, "Concurrency groups"): their limits and what their tasks use now;
 * {@code PUT /groups/{name}} sets a group's limits (operator role, audited). Every refusal is a 400
 * {@code invalid_group} and writes nothing; a group of the configuration files is 409
 * {@code group_from_configuration}.
 */
@RestController
class GroupsController {

    private static final Set<String> FIELDS = Set.of("maxConcurrent", "maxStarts");

    record GroupList(List<Group> groups) {}

    private final GroupRepository groups;

    GroupsController(GroupRepository groups) {
        this.groups = groups;
    }

    @GetMapping("/groups")
    GroupList list() {
        return new GroupList(groups.list());
    }

    @GetMapping("/groups/{name}")
    Group find(@PathVariable String name) {
        return groups.find(name).orElseThrow(() -> ApiException.notFound("group_not_found", "no group '" + name + "'"));
    }

    /** Body: {@code {"maxConcurrent": 2, "maxStarts": "10/1m"}}; a field absent or null: no such limit. */
    @PutMapping("/groups/{name}")
    Group set(@PathVariable String name, @RequestBody(required = false) JsonNode body, HttpServletRequest request) {
        GroupRepository.Limits limits;
        try {
            GroupRepository.checkName(name);
            limits = limits(body);
        } catch (GroupRepository.InvalidGroupException e) {
            throw invalid(e.getMessage());
        }
        try {
            return groups.set(name, limits, Requests.actor(request));
        } catch (GroupRepository.FromConfigurationException e) {
            throw new ApiException(
                    HttpStatus.CONFLICT, "group_from_configuration", "Group from configuration", e.getMessage());
        }
    }

    private static GroupRepository.Limits limits(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw invalid("the body must be an object: {\"maxConcurrent\": 2, \"maxStarts\": \"10/1m\"}");
        }
        for (String field : body.propertyNames()) {
            if (!FIELDS.contains(field)) {
                throw invalid("unknown field '" + field + "' (known: maxConcurrent, maxStarts)");
            }
        }
        JsonNode max = body.get("maxConcurrent");
        if (max != null && !max.isNull() && !max.isIntegralNumber()) {
            throw invalid("maxConcurrent must be a whole number, not " + max);
        }
        if (max != null && max.isIntegralNumber() && !max.canConvertToInt()) {
            throw invalid("maxConcurrent is out of range: " + max);
        }
        JsonNode starts = body.get("maxStarts");
        if (starts != null && !starts.isNull() && !starts.isString()) {
            throw invalid("maxStarts must be text such as \"10/1m\", not " + starts);
        }
        return new GroupRepository.Limits(
                max == null || max.isNull() ? null : max.intValue(),
                starts == null || starts.isNull() ? null : GroupRepository.rate(starts.asString()));
    }

    private static ApiException invalid(String detail) {
        return ApiException.badRequest("invalid_group", detail);
    }
}

package gg.starpets.config;

import gg.starpets.scheduler.TaskDefinition;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import org.springframework.boot.env.PropertySourceLoader;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.Resource;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Spring's YAML loader, which stops at a key YAML reads as something else than text ({@code on:},
 * {@code yes:} are booleans, {@code 1:} a number) with a bare {@code ClassCastException} naming
 * nothing. This one says where: the task (under {@code starpets.tasks}) or the path, and the file.
 * First of the loaders ({@code META-INF/spring.factories}), so it reads every YAML file.
 */
@Order(Ordered.HIGHEST_PRECEDENCE)
public final class YamlKeyNames implements PropertySourceLoader {

    private final YamlPropertySourceLoader yaml = new YamlPropertySourceLoader();

    @Override
    public String[] getFileExtensions() {
        return yaml.getFileExtensions();
    }

    @Override
    public List<PropertySource<?>> load(String name, Resource resource) throws IOException {
        try {
            return yaml.load(name, resource);
        } catch (ClassCastException e) {
            RuntimeException named = named(resource);
            if (named == null) {
                throw e;
            }
            named.addSuppressed(e);
            throw named;
        }
    }

    /** The first key that is not text, described; null if there is none. */
    private static RuntimeException named(Resource resource) throws IOException {
        try (InputStream in = resource.getInputStream()) {
            for (Object document : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(in)) {
                RuntimeException found = find(document, "", resource);
                if (found != null) {
                    return found;
                }
            }
        }
        return null;
    }

    private static RuntimeException find(Object node, String path, Resource resource) {
        if (node instanceof Map<?, ?> map) {
            for (var entry : map.entrySet()) {
                if (!(entry.getKey() instanceof String key)) {
                    String problem = "the key " + entry.getKey() + " in " + resource.getDescription()
                            + (path.isEmpty() ? "" : " under " + path)
                            + " is read by YAML as a "
                            + entry.getKey().getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT)
                            + ", not as a name (on, off, yes and no are booleans): quote it or remove it";
                    return path.matches("starpets\\.tasks\\[\\d+]") && map.get("name") instanceof String task
                            ? new TaskDefinition.InvalidTaskException(task, problem)
                            : new IllegalStateException(
                                    Character.toUpperCase(problem.charAt(0)) + problem.substring(1));
                }
                RuntimeException found = find(entry.getValue(), path.isEmpty() ? key : path + "." + key, resource);
                if (found != null) {
                    return found;
                }
            }
        } else if (node instanceof List<?> list) {
            for (int i = 0; i < list.size(); i++) {
                RuntimeException found = find(list.get(i), path + "[" + i + "]", resource);
                if (found != null) {
                    return found;
                }
            }
        }
        return null;
    }
}

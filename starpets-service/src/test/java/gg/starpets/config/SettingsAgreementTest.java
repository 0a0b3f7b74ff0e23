package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.scheduler.SchedulerSettings;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.convert.ConversionService;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.io.FileSystemResource;
import org.yaml.snakeyaml.Yaml;

/**
 * Every setting is in application.yml (mapped to its environment variable), in the README's
 * configuration table, and has one default: the README's default is the one the service gets with no
 * variable set, whether application.yml or the Java record that declares the setting writes it.
 */
class SettingsAgreementTest {

    private static final Path APPLICATION_YML = Path.of("starpets-service/src/main/resources/application.yml");
    private static final Path README = Path.of("README.md");

    /** A value mapped to an environment variable: {@code ${NAME:fallback}}. */
    private static final Pattern MAPPED = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*):(.*)}");

    /** The settings records of the service, by the prefix they are bound from. */
    private static final Map<String, Class<?>> RECORDS = Map.of(
            "starpets", StarPetsProperties.class,
            "starpets.security", type("gg.starpets.security.SecuritySettings"),
            "starpets.balance", type("gg.starpets.balance.BalanceSettings"),
            "starpets.notify", type("gg.starpets.notify.NotifySettings"),
            "starpets.api", type("gg.starpets.web.TaskLimits"));

    /** Components of SchedulerSettings that are not settings: the service fills them in. */
    private static final Set<String> ENGINE_NOT_SETTINGS = Set.of("instanceId", "host", "version", "ticker");

    private static final ConversionService CONVERSION = ApplicationConversionService.getSharedInstance();

    /** One setting as application.yml maps it: its property, its variable, the fallback after the colon. */
    private record Mapping(String property, String variable, String fallback) {}

    /** One row of the README's configuration table. */
    private record Row(String variable, String defaultCell, String meaning) {

        /** The default as written: the first code span, or empty for "*(empty)*", "*(none)*"… */
        String defaultText() {
            Matcher code = Pattern.compile("^`([^`]*)`").matcher(defaultCell);
            return code.find() ? code.group(1) : "";
        }

        boolean composeOnly() {
            return meaning.contains("compose only");
        }
    }

    @Test
    void everyVariableOfApplicationYmlHasOneRowInTheReadmeAndEveryRowIsRead() throws IOException {
        Set<String> mapped = new TreeSet<>();
        mappings().forEach(m -> mapped.add(m.variable()));
        List<String> rows = readmeRows().stream()
                .filter(r -> !r.composeOnly() && !r.variable().contains("<NAME>"))
                .map(Row::variable)
                .toList();

        assertThat(rows).doesNotHaveDuplicates();
        assertThat(new TreeSet<>(rows)).isEqualTo(mapped);
    }

    @Test
    void theReadmeGivesTheDefaultTheServiceGetsWithNoVariableSet() throws IOException {
        Map<String, Object> bound = boundRecords();
        Map<String, Row> rows = new LinkedHashMap<>();
        readmeRows().forEach(r -> rows.put(r.variable(), r));
        List<String> disagreements = new ArrayList<>();
        for (Mapping m : mappings()) {
            Row row = rows.get(m.variable());
            if (row == null) {
                continue; // the other test names it
            }
            String documented = row.defaultText();
            Matcher reference = Pattern.compile("^\\$\\{([^:}]+)[:}]").matcher(m.fallback());
            if (reference.find()) {
                // The fallback is another setting or variable: the README names that one.
                String other = reference.group(1);
                String expected = other.startsWith("starpets.") ? variableOf(other) : "$" + other;
                if (!documented.equals(expected)) {
                    disagreements.add(m.variable() + ": README " + documented + ", application.yml " + expected);
                }
                continue;
            }
            Object actual = valueAt(bound, m.property());
            boolean agree = actual == NOT_A_RECORD ? documented.equals(m.fallback()) : sameValue(documented, actual);
            if (!agree) {
                disagreements.add(m.variable() + " (" + m.property() + "): README '" + documented + "', the service "
                        + (actual == NOT_A_RECORD ? "'" + m.fallback() + "'" : actual));
            }
        }
        assertThat(disagreements).isEmpty();
    }

    /** The engine's defaults are written in SchedulerSettings only; application.yml maps each variable. */
    @Test
    void everyEngineSettingIsMappedWithoutADefaultOfItsOwnAndBindsToTheEngineDefault() throws IOException {
        Map<String, Mapping> scheduler = new LinkedHashMap<>();
        mappings().stream()
                .filter(m -> m.property().startsWith("starpets.scheduler."))
                .forEach(m -> scheduler.put(camel(m.property().substring("starpets.scheduler.".length())), m));
        var bound = (StarPetsProperties) boundRecords().get("starpets");
        SchedulerSettings defaults = SchedulerSettings.defaults();

        for (RecordComponent c : SchedulerSettings.class.getRecordComponents()) {
            if (ENGINE_NOT_SETTINGS.contains(c.getName())) {
                continue;
            }
            assertThat(scheduler)
                    .as("application.yml maps starpets.scheduler." + c.getName())
                    .containsKey(c.getName());
            assertThat(scheduler.get(c.getName()).fallback())
                    .as("the default of %s is written in SchedulerSettings, not again in application.yml", c.getName())
                    .isEmpty();
            assertThat(read(bound.scheduler(), c.getName())).as(c.getName()).isEqualTo(read(defaults, c.getName()));
        }
        assertThat(scheduler.values()).allMatch(m -> m.fallback().isEmpty());
    }

    /** A setting declared in a record but mapped nowhere would have no variable and no README row. */
    @Test
    void everyComponentOfTheSettingsRecordsIsInApplicationYml() throws IOException {
        Set<String> keys = new TreeSet<>();
        collectKeys("", yaml(), keys);
        List<String> missing = new ArrayList<>();
        RECORDS.forEach((prefix, type) -> missingKeys(prefix, type, keys, missing));

        assertThat(missing).isEmpty();
    }

    @Test
    void anExtraSqlDataSourceHasThePoolSizeTheReadmeSays() throws IOException {
        Row row = readmeRows().stream()
                .filter(r -> r.variable().contains("SQLDATASOURCES"))
                .findFirst()
                .orElseThrow();
        StandardEnvironment env = new StandardEnvironment();
        env.getPropertySources()
                .addFirst(new org.springframework.core.env.MapPropertySource(
                        "test", Map.of("starpets.handlers.sql-data-sources.reporting.url", "jdbc:postgresql://x/y")));
        var handlers = Binder.get(env)
                .bind("starpets.handlers", StarPetsProperties.Handlers.class)
                .get();

        assertThat(row.defaultCell())
                .contains("pool size `"
                        + handlers.sqlDataSources().get("reporting").poolSize() + "`");
    }

    // --- application.yml -------------------------------------------------------------------------

    private static Map<String, Object> yaml() throws IOException {
        return new Yaml().load(Files.readString(APPLICATION_YML));
    }

    private static List<Mapping> mappings() throws IOException {
        List<Mapping> found = new ArrayList<>();
        collectMappings("", yaml(), found);
        assertThat(found).hasSizeGreaterThan(50);
        return found;
    }

    private static void collectMappings(String path, Object node, List<Mapping> found) {
        if (node instanceof Map<?, ?> map) {
            map.forEach((k, v) -> collectMappings(path.isEmpty() ? k.toString() : path + "." + k, v, found));
        } else if (node instanceof List<?> list) {
            for (int i = 0; i < list.size(); i++) {
                collectMappings(path + "[" + i + "]", list.get(i), found);
            }
        } else if (node instanceof String text) {
            Matcher m = MAPPED.matcher(text);
            if (m.matches()) {
                found.add(new Mapping(path, m.group(1), m.group(2)));
            }
        }
    }

    private static void collectKeys(String path, Object node, Set<String> keys) {
        if (node instanceof Map<?, ?> map) {
            map.forEach((k, v) -> {
                String key = path.isEmpty() ? k.toString() : path + "." + k;
                keys.add(key);
                collectKeys(key, v, keys);
            });
        }
    }

    private static String variableOf(String property) throws IOException {
        return mappings().stream()
                .filter(m -> m.property().equals(property))
                .map(Mapping::variable)
                .findFirst()
                .orElse(property);
    }

    // --- the README's table -------------------------------------------------------------------------

    private static List<Row> readmeRows() throws IOException {
        List<String> lines = Files.readAllLines(README);
        int start = lines.indexOf("## Configuration");
        assertThat(start).as("README has a section '## Configuration'").isNotNegative();
        List<Row> rows = new ArrayList<>();
        boolean inTable = false;
        for (String line : lines.subList(start + 1, lines.size())) {
            if (!line.startsWith("|")) {
                if (inTable) {
                    break;
                }
                continue;
            }
            inTable = true;
            String[] cells = line.split("(?<!\\\\)\\|");
            Matcher variable = Pattern.compile("^\\s*`([^`]+)`").matcher(cells[1]);
            if (!variable.find()) {
                continue; // the header and its rule
            }
            rows.add(new Row(variable.group(1), cells[2].strip(), cells[3].strip()));
        }
        assertThat(rows).hasSizeGreaterThan(50);
        return rows;
    }

    // --- the records, bound as the service binds them with no variable set --------------------------

    private static final Object NOT_A_RECORD = new Object();

    private static Map<String, Object> boundRecords() throws IOException {
        StandardEnvironment env = new StandardEnvironment();
        MutablePropertySources sources = env.getPropertySources();
        sources.remove(StandardEnvironment.SYSTEM_PROPERTIES_PROPERTY_SOURCE_NAME);
        sources.remove(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME);
        new YamlPropertySourceLoader()
                .load("application.yml", new FileSystemResource(APPLICATION_YML))
                .forEach(sources::addLast);
        Binder binder = Binder.get(env);
        Map<String, Object> bound = new LinkedHashMap<>();
        RECORDS.forEach(
                (prefix, type) -> bound.put(prefix, binder.bind(prefix, type).get()));
        return bound;
    }

    /** The bound value of a property, or {@link #NOT_A_RECORD} where no settings record declares it. */
    private static Object valueAt(Map<String, Object> bound, String property) {
        String prefix = bound.keySet().stream()
                .filter(p -> property.startsWith(p + "."))
                .max((a, b) -> Integer.compare(a.length(), b.length()))
                .orElse(null);
        if (prefix == null || property.contains("[")) {
            return NOT_A_RECORD;
        }
        Object value = bound.get(prefix);
        for (String key : property.substring(prefix.length() + 1).split("\\.")) {
            if (value == null || !value.getClass().isRecord() || !hasComponent(value.getClass(), camel(key))) {
                return NOT_A_RECORD;
            }
            value = read(value, camel(key));
        }
        return value;
    }

    private static boolean sameValue(String documented, Object actual) {
        if (documented.isEmpty()) {
            return actual == null || actual.toString().isBlank() || actual instanceof Collection<?> c && c.isEmpty();
        }
        if (actual == null) {
            return false;
        }
        if (actual instanceof Path path) {
            return Path.of(documented).normalize().equals(path.normalize());
        }
        Object expected = CONVERSION.canConvert(String.class, actual.getClass())
                ? CONVERSION.convert(documented, actual.getClass())
                : documented;
        return expected.equals(actual) || expected.equals(actual.toString());
    }

    private static void missingKeys(String prefix, Class<?> type, Set<String> keys, List<String> missing) {
        for (RecordComponent c : type.getRecordComponents()) {
            String key = prefix + "." + kebab(c.getName());
            if (RECORDS.containsKey(key)) {
                continue;
            }
            Class<?> t = c.getType();
            boolean collection =
                    Collection.class.isAssignableFrom(t) && !t.equals(List.class) || Map.class.isAssignableFrom(t);
            if (key.equals("starpets.tasks") || collection) {
                continue; // the tasks themselves, and maps of named entries (sql-data-sources: a README row of its own)
            }
            if (!keys.contains(key)) {
                missing.add(key);
            } else if (t.isRecord()) {
                missingKeys(key, t, keys, missing);
            }
        }
    }

    private static boolean hasComponent(Class<?> type, String name) {
        for (RecordComponent c : type.getRecordComponents()) {
            if (c.getName().equals(name)) {
                return true;
            }
        }
        return false;
    }

    private static Object read(Object record, String component) {
        try {
            Method accessor = record.getClass().getDeclaredMethod(component);
            accessor.setAccessible(true);
            return accessor.invoke(record);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(record.getClass() + "." + component, e);
        }
    }

    private static String camel(String kebab) {
        Matcher m = Pattern.compile("-([a-z])").matcher(kebab);
        return m.replaceAll(r -> r.group(1).toUpperCase());
    }

    private static String kebab(String camel) {
        return camel.replaceAll("([A-Z])", "-$1").toLowerCase();
    }

    private static Class<?> type(String name) {
        try {
            return Class.forName(name);
        } catch (ClassNotFoundException e) {
            throw new AssertionError(name, e);
        }
    }
}

package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.notify.NotifySettings;
import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.io.FileSystemResource;

/**
 * An application that uses the starter without the service's application.yml (a library user's) gets the
 * database and notification defaults the service gets with no variable set: the records' fallbacks for an
 * unset setting equal application.yml's defaults.
 */
class LibraryDefaultsTest {

    @Test
    void unsetDatabaseAndNotifySettingsTakeTheServicesDefaults() throws IOException {
        Binder service = Binder.get(serviceEnvironment());
        Binder library = Binder.get(new StandardEnvironment());

        StarPetsProperties.Db expected =
                service.bind("starpets", StarPetsProperties.class).get().db();
        StarPetsProperties.Db actual =
                library.bindOrCreate("starpets", StarPetsProperties.class).db();
        assertThat(actual)
                .usingRecursiveComparison()
                .comparingOnlyFields(
                        "name",
                        "port",
                        "user",
                        "ownerUser",
                        "sqlUser",
                        "poolSize",
                        "schedulerPoolSize",
                        "sqlPoolSize",
                        "connectionTimeout",
                        "embeddedDir",
                        "embeddedPort",
                        "schema")
                .isEqualTo(expected);

        NotifySettings expectedNotify =
                service.bind("starpets.notify", NotifySettings.class).get();
        NotifySettings actualNotify = library.bindOrCreate("starpets.notify", NotifySettings.class);
        assertThat(actualNotify).isEqualTo(expectedNotify);
    }

    /** application.yml alone, its variables unset (no system environment or properties). */
    private static StandardEnvironment serviceEnvironment() throws IOException {
        StandardEnvironment env = new StandardEnvironment();
        MutablePropertySources sources = env.getPropertySources();
        sources.remove(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME);
        sources.remove(StandardEnvironment.SYSTEM_PROPERTIES_PROPERTY_SOURCE_NAME);
        new YamlPropertySourceLoader()
                .load("application.yml", new FileSystemResource("starpets-service/src/main/resources/application.yml"))
                .forEach(sources::addLast);
        return env;
    }
}

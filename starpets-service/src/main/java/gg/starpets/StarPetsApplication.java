package gg.starpets;

import gg.starpets.config.InstanceIdentity;
import gg.starpets.config.MigrationLocations;
import gg.starpets.config.StarPetsAutoConfiguration;
import gg.starpets.observability.MetricsEndpoint;
import java.util.List;
import javax.sql.DataSource;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;

/**
 * The service: StarPets' engine through its starter (starpets-spring-boot-starter's auto-configuration), and
 * the service's own packages: the HTTP API and console (web), security, balance.
 */
@SpringBootApplication(scanBasePackages = {"gg.starpets.web", "gg.starpets.security", "gg.starpets.balance"})
@ConfigurationPropertiesScan({"gg.starpets.web", "gg.starpets.security", "gg.starpets.balance"})
@Import(MetricsEndpoint.class)
public class StarPetsApplication {

    public static void main(String[] args) {
        // Resolved before Spring starts so that the very first log line carries it.
        System.setProperty(InstanceIdentity.PROPERTY, InstanceIdentity.resolve(System.getenv()));
        SpringApplication.run(StarPetsApplication.class, args);
    }

    /** The balance tables (db/migration: users, the ledger) live in StarPets' schema, in its one history. */
    @Bean
    MigrationLocations balanceMigrations() {
        return new MigrationLocations(List.of("classpath:db/migration"));
    }

    /** The service's requests (balance, API) use StarPets' pool: the service's DataSource is that pool. */
    @Primary
    @Bean(destroyMethod = "")
    DataSource dataSource(@Qualifier(StarPetsAutoConfiguration.DATA_SOURCE) DataSource starPets) {
        return starPets;
    }
}

package gg.starpets;

import gg.starpets.config.InstanceIdentity;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class StarPetsApplication {

    public static void main(String[] args) {
        // Resolved before Spring starts so that the very first log line carries it.
        System.setProperty(InstanceIdentity.PROPERTY, InstanceIdentity.resolve(System.getenv()));
        SpringApplication.run(StarPetsApplication.class, args);
    }
}

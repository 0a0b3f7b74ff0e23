package gg.starpets.tasks;

import gg.starpets.config.SqlTaskDatabase;
import gg.starpets.config.StarPetsProperties;
import gg.starpets.scheduler.InstanceRepository;
import gg.starpets.scheduler.RunRepository;
import java.nio.file.Path;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The handlers that ship with the service, each a bean named as tasks call it. A team adds its own
 * the same way: a bean implementing {@code TaskHandler}, named as its tasks will call it.
 */
@Configuration(proxyBeanMethods = false)
class BuiltInHandlers {

    @Bean
    SleepHandler sleep(StarPetsProperties properties) {
        return new SleepHandler(properties.scheduler().taskDuration());
    }

    @Bean
    CpuHandler cpu(StarPetsProperties properties) {
        return new CpuHandler(properties.scheduler().taskDuration());
    }

    @Bean
    HttpHandler http() {
        return new HttpHandler(System::getenv);
    }

    @Bean
    ExecHandler exec() {
        return new ExecHandler(System::getenv);
    }

    @Bean
    SqlDataSources sqlDataSources(StarPetsProperties properties) {
        return new SqlDataSources(properties.handlers().sqlDataSources());
    }

    /** On the StarPets database as the sql tasks' own role (config.DatabaseConfig#sqlTaskDatabase). */
    @Bean
    SqlHandler sql(SqlTaskDatabase sqlTaskDatabase, SqlDataSources sqlDataSources) {
        return new SqlHandler(sqlTaskDatabase.dataSource(), sqlDataSources.byName());
    }

    /** The chaos suite's witness, only where a witness directory is configured (WITNESS_DIR). */
    @Bean
    @ConditionalOnExpression("!'${starpets.witness.dir:}'.isBlank()")
    WitnessHandler witness(StarPetsProperties properties) {
        return new WitnessHandler(Path.of(properties.witness().dir()), properties.resolvedInstanceId());
    }

    @Bean("prune-history")
    PruneHistoryHandler pruneHistory(RunRepository runRepository, InstanceRepository instanceRepository) {
        return new PruneHistoryHandler(runRepository, instanceRepository);
    }
}

package gg.starpets.config;

import gg.starpets.handlers.CpuHandler;
import gg.starpets.handlers.ExecHandler;
import gg.starpets.handlers.HttpDestinations;
import gg.starpets.handlers.HttpHandler;
import gg.starpets.handlers.PruneHistoryHandler;
import gg.starpets.handlers.SleepHandler;
import gg.starpets.handlers.SqlHandler;
import gg.starpets.handlers.TaskSecrets;
import gg.starpets.handlers.WitnessHandler;
import gg.starpets.scheduler.InstanceRepository;
import gg.starpets.scheduler.RunRepository;
import gg.starpets.scheduler.TaskEvents;
import java.nio.file.Path;
import javax.sql.DataSource;
import org.springframework.beans.factory.annotation.Qualifier;
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

    /** What {@code ${NAME}} in the params of http and exec tasks may read (STARPETS_TASK_SECRETS). */
    @Bean
    TaskSecrets taskSecrets(StarPetsProperties properties) {
        return TaskSecrets.fromEnvironment(properties.handlers().taskSecrets());
    }

    @Bean
    HttpHandler http(TaskSecrets secrets, StarPetsProperties properties) {
        return new HttpHandler(
                secrets, HttpDestinations.parse(properties.handlers().httpAllowedDestinations()));
    }

    @Bean
    ExecHandler exec(TaskSecrets secrets) {
        return new ExecHandler(secrets);
    }

    @Bean
    SqlDataSources sqlDataSources(StarPetsProperties properties) {
        return new SqlDataSources(properties.handlers().sqlDataSources());
    }

    /**
     * On the StarPets database as the sql tasks' own role (DatabaseConfig#sqlTaskDatabase); fences
     * off lost runs on the scheduler's pool, as recovery does its work (the service's role may end the
     * sql role's sessions).
     */
    @Bean
    SqlHandler sql(
            SqlTaskDatabase sqlTaskDatabase,
            @Qualifier(StarPetsAutoConfiguration.SCHEDULER_DATA_SOURCE) DataSource schedulerDataSource,
            SqlDataSources sqlDataSources) {
        return new SqlHandler(
                sqlTaskDatabase.dataSource(),
                schedulerDataSource,
                sqlDataSources.byName(),
                sqlTaskDatabase.starPetsSchema());
    }

    /** The chaos suite's witness, only where a witness directory is configured (WITNESS_DIR). */
    @Bean
    @ConditionalOnExpression("!'${starpets.witness.dir:}'.isBlank()")
    WitnessHandler witness(StarPetsProperties properties) {
        return new WitnessHandler(Path.of(properties.witness().dir()), properties.resolvedInstanceId());
    }

    @Bean("prune-history")
    PruneHistoryHandler pruneHistory(
            RunRepository runRepository, InstanceRepository instanceRepository, TaskEvents taskEvents) {
        return new PruneHistoryHandler(runRepository, instanceRepository, taskEvents);
    }
}

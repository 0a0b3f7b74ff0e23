package gg.starpets.scheduler;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

class ArchitectureTest {

    @Test
    void theSchedulerEngineHasNoSpringInsideAndKnowsNothingOfTheService() {
        var classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("gg.starpets");
        noClasses()
                .that()
                .resideInAPackage("gg.starpets.scheduler..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "org.springframework..",
                        "gg.starpets.web..",
                        "gg.starpets.config..",
                        "gg.starpets.balance..",
                        "gg.starpets.observability..",
                        "gg.starpets.handlers..")
                .check(classes);
    }
}

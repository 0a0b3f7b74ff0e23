package gg.starpets;

import static com.tngtech.archunit.lang.conditions.ArchConditions.callMethodWhere;
import static com.tngtech.archunit.lang.conditions.ArchConditions.dependOnClassesThat;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaMethodCall;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import gg.starpets.scheduler.NamedSql;
import gg.starpets.support.RunsAlongside;
import java.sql.Connection;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.stereotype.Controller;

/** The rules of the packages' shape, on the main classes (not the tests). */
@RunsAlongside
class ArchitectureTest {

    /**
     * The classes that send SQL though their name does not end in Repository, Views or ReadModel, each
     * with its reason. Anything else that sends SQL is a {@code *Repository}, {@code *Views} or
     * {@code *ReadModel} of the engine, of balance or of notify.
     */
    private static final Set<String> SQL_BY_DESIGN = Set.of(
            // the engine's one way to prepare a statement (parameters bound by name)
            "gg.starpets.scheduler.NamedSql",
            // the engine's other homes of a table's statements: the tasks table's audiences (operator
            // commands, configuration sync, housekeeping), the audit trail (task_events), the database's clock
            "gg.starpets.scheduler.TaskCommands",
            "gg.starpets.scheduler.TaskConfigSync",
            "gg.starpets.scheduler.TaskHousekeeping",
            "gg.starpets.scheduler.TaskEvents",
            "gg.starpets.scheduler.DbClock",
            // no table: session and transaction settings (keepalives, lock_timeout), the instance's
            // advisory lock, LISTEN
            "gg.starpets.scheduler.InstanceSession",
            "gg.starpets.scheduler.SessionWatch",
            "gg.starpets.scheduler.Transactions",
            // runs the statements a task's definition names: that is the handler's job
            "gg.starpets.handlers.SqlHandler",
            // the database's setup (roles, the embedded server's database) and the readiness probe's select 1
            "gg.starpets.config.DatabaseRoles",
            "gg.starpets.config.EmbeddedPostgresServer",
            "gg.starpets.config.HealthProbe",
            // the upgrade of the layout before the schema (DDL that moves tables, before the migrations)
            "gg.starpets.config.LegacyLayout");

    private static JavaClasses main;

    @BeforeAll
    static void importMainClasses() {
        main = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                // The engine module's test support (its test-jar) is not main code either.
                .withImportOption(location -> !location.contains("-tests.jar"))
                .importPackages("gg.starpets");
    }

    @Test
    void theSchedulerEngineHasNoSpringInsideAndKnowsNothingOfTheService() {
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
                .check(main);
    }

    /** Handlers are built by config (BuiltInHandlers) and run by the engine: they know neither Spring nor the service. */
    @Test
    void handlersDependOnTheEngineOnly() {
        noClasses()
                .that()
                .resideInAPackage("gg.starpets.handlers..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "org.springframework..",
                        "gg.starpets.web..",
                        "gg.starpets.config..",
                        "gg.starpets.balance..",
                        "gg.starpets.observability..",
                        "gg.starpets.security..")
                .check(main);
    }

    @Test
    void noCycleBetweenPackages() {
        slices().matching("gg.starpets.(**)").should().beFreeOfCycles().check(main);
    }

    @Test
    void sqlIsSentOnlyByRepositoriesAndReadModels() {
        // A name left behind by a move or rename would let a future class of that name send SQL unseen.
        assertThat(SQL_BY_DESIGN).allMatch(main::contain);
        noClasses()
                .that(DescribedPredicate.not(repositoryOrReadModel().or(sqlByDesign())))
                .should(sendSql())
                .check(main);
    }

    @Test
    void controllersArePackagePrivate() {
        // Meta-annotated: @RestController carries @Controller.
        classes()
                .that()
                .areMetaAnnotatedWith(Controller.class)
                .should()
                .notBePublic()
                .allowEmptyShould(false)
                .check(main);
    }

    /** Prepares a statement, on a JDBC connection, through {@link NamedSql}, or with Spring's JDBC client. */
    private static ArchCondition<JavaClass> sendSql() {
        DescribedPredicate<JavaMethodCall> onAConnection = DescribedPredicate.describe(
                "Connection.prepareStatement/prepareCall/createStatement",
                call -> call.getTargetOwner().isAssignableTo(Connection.class)
                        && Set.of("prepareStatement", "prepareCall", "createStatement")
                                .contains(call.getName()));
        DescribedPredicate<JavaMethodCall> throughNamedSql = DescribedPredicate.describe(
                "NamedSql.prepare",
                call -> call.getTargetOwner().isEquivalentTo(NamedSql.class)
                        && call.getName().equals("prepare"));
        return callMethodWhere(onAConnection.or(throughNamedSql))
                .or(dependOnClassesThat(JavaClass.Predicates.resideInAPackage("org.springframework.jdbc.core..")))
                .as("send SQL");
    }

    /**
     * Named as a table's home ({@code *Repository}, {@code *Views}, {@code *ReadModel}), in the engine, balance
     * or notify (which owns the notification tables).
     */
    private static DescribedPredicate<JavaClass> repositoryOrReadModel() {
        return DescribedPredicate.describe("repositories and read models of the engine, balance or notify", c -> {
            JavaClass home = outermost(c);
            String name = home.getSimpleName();
            boolean named = name.endsWith("Repository") || name.endsWith("Views") || name.endsWith("ReadModel");
            boolean inADataPackage = home.getPackageName().equals("gg.starpets.scheduler")
                    || home.getPackageName().equals("gg.starpets.balance")
                    || home.getPackageName().equals("gg.starpets.notify");
            return named && inADataPackage;
        });
    }

    private static DescribedPredicate<JavaClass> sqlByDesign() {
        return DescribedPredicate.describe("sending SQL by design (listed)", c -> {
            String name = outermost(c).getName();
            return SQL_BY_DESIGN.contains(name);
        });
    }

    /** Nested and anonymous classes (row mappers, lambdas' holders) belong to the class around them. */
    private static JavaClass outermost(JavaClass c) {
        JavaClass home = c;
        while (home.getEnclosingClass().isPresent()) {
            home = home.getEnclosingClass().get();
        }
        return home;
    }
}

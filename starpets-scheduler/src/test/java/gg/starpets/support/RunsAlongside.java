package gg.starpets.support;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.Set;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.api.parallel.ResourceLocksProvider;

/**
 * A test class that may run beside another (junit-platform.properties: two lanes): it uses only a
 * database, servers and ports of its own, and no state of the JVM that another class reads (system
 * properties, the default time zone, log appenders, global registries). Its methods still run one
 * after another: the class holds a lock of its own, and JUnit runs what is under a lock on one thread.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(providers = RunsAlongside.OwnLock.class)
public @interface RunsAlongside {

    /** The lock of the class alone. */
    final class OwnLock implements ResourceLocksProvider {
        @Override
        public Set<Lock> provideForClass(Class<?> testClass) {
            return Set.of(new Lock(testClass.getName()));
        }
    }
}

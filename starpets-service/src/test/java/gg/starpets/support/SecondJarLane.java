package gg.starpets.support;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * A test of processes of the jar that runs beside the others, which run one after another: these
 * share one lock, so at most two such tests run at once whatever threads JUnit's pool adds (run
 * alongside one another as well, four started about ten JVMs together and took their starts past
 * a minute). For tests that mostly wait (for leases, for a freeze to outlast one) on a database of
 * their own; those that judge a failover's time or load the machine stay in the first lane.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock("gg.starpets.support.SecondJarLane")
public @interface SecondJarLane {}

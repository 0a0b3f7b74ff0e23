# syntax=docker/dockerfile:1
# The StarPets service image: built with the Maven wrapper on a JDK 21, run on a JRE 21 as a
# non-root user. `docker compose up -d` builds it; alone: docker build -t starpets-app .

# Base images pinned to one Temurin release (21.0.8+9, July 2025) on Ubuntu 24.04 (noble): a rebuild
# gets the same JDK/JRE. Bump both tags together.
FROM eclipse-temurin:21.0.8_9-jdk-noble AS build
WORKDIR /src
# Dependencies first, in their own layer: rebuilt only when the pom or the wrapper changes.
# The pom's maven-toolchains-plugin (select-jdk-toolchain, JDK [21,)) accepts the JDK Maven runs
# on when it matches (its default useJdk=IfMatch): here that is this image's JDK 21, nothing to set.
COPY mvnw pom.xml ./
COPY .mvn/ .mvn/
COPY starpets-scheduler/pom.xml starpets-scheduler/
COPY starpets-spring-boot-starter/pom.xml starpets-spring-boot-starter/
COPY starpets-service/pom.xml starpets-service/
RUN ./mvnw -B -q -Pprod -Dspotless.check.skip=true dependency:go-offline
COPY starpets-scheduler/src/ starpets-scheduler/src/
COPY starpets-spring-boot-starter/src/ starpets-spring-boot-starter/src/
COPY starpets-service/src/ starpets-service/src/
# The "prod" profile leaves the embedded PostgreSQL (a development convenience) out of the jar.
# Not offline (-o): go-offline misses a few artifacts resolved at build time; they are fetched here.
# The engine's sources and Javadoc jars (for publishing) are not needed in the image.
RUN ./mvnw -B -q -Pprod -Dspotless.check.skip=true -Dmaven.source.skip=true -Dmaven.javadoc.skip=true \
    -DskipTests package \
    && cp starpets-service/target/starpets-service-*.jar /starpets.jar

FROM eclipse-temurin:21.0.8_9-jre-noble
# curl for the HEALTHCHECK (the JRE image has neither curl nor wget); one small package, and the
# same check the compose file and the native twin use.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 starpets \
    && useradd --system --uid 10001 --gid starpets --home-dir /app --shell /usr/sbin/nologin starpets
WORKDIR /app
COPY --from=build /starpets.jar /app/starpets.jar
# Numeric, fixed: Kubernetes can then verify runAsNonRoot, and the Helm chart's runAsUser (10001)
# is this very user.
USER 10001:10001
EXPOSE 8080
# Container-aware heap (75 % of the container's memory limit); die, and be restarted, rather than
# limp on after running out of memory.
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError"
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 \
    CMD curl -fsS -m 2 http://127.0.0.1:8080/health || exit 1
# Exec form: the JVM is PID 1 and gets SIGTERM directly, for a graceful shutdown.
ENTRYPOINT ["java", "-jar", "/app/starpets.jar"]

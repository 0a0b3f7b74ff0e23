package gg.starpets.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ReservedPortTest {

    @Test
    void thePortsAreBelowTheKernelsEphemeralRangeAndClearOfTheTwinsFixedPorts() throws Exception {
        // readAllLines, not readString: readString sees a procfs file as empty-sized and reads one byte ("3").
        int ephemeralFrom = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
                .getFirst()
                .strip()
                .split("\\s+")[0]);
        // scripts/twin-up.sh's defaults and the e2e tests' twin (instances on the ports after nginx's).
        List<Integer> twin = List.of(
                15432, 18080, 18081, 18082, 18083, 18084, 18085, 19090, 25432, 28080, 28081, 28082, 28083, 28084, 28085,
                29090);

        assertThat(ReservedPort.FIRST).isGreaterThan(1023);
        assertThat(ReservedPort.LAST).isLessThan(ephemeralFrom);
        assertThat(twin).noneMatch(port -> port >= ReservedPort.FIRST && port <= ReservedPort.LAST);
        for (int i = 0; i < 20; i++) {
            try (ReservedPort port = ReservedPort.take()) {
                assertThat(port.number()).isBetween(ReservedPort.FIRST, ReservedPort.LAST);
            }
        }
    }

    @Test
    void portsHeldHereAreNotGivenTwiceAndNorIsOneSomethingListensOn() throws Exception {
        Set<Integer> held = new HashSet<>();
        List<ReservedPort> ports = new ArrayList<>();
        try {
            for (int i = 0; i < 200; i++) {
                ReservedPort port = ReservedPort.take();
                ports.add(port);
                assertThat(held.add(port.number()))
                        .as("port %d given twice", port.number())
                        .isTrue();
            }
            assertThat(ReservedPort.tryTake(ports.getFirst().number())).isNull();
        } finally {
            ports.forEach(ReservedPort::close);
        }
        try (ServerSocket listening = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            assertThat(ReservedPort.tryTake(listening.getLocalPort())).isNull();
        }
    }

    @Test
    void aPortHeldByAnotherJvmIsNotTakenHereUntilThatJvmIsGone() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process other = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), HoldOne.class.getName())
                .redirectErrorStream(true)
                .start();
        try {
            var output = new BufferedReader(new InputStreamReader(other.getInputStream()));
            // Bounded: a child that never prints fails the test instead of hanging it.
            int port = Integer.parseInt(CompletableFuture.supplyAsync(() -> {
                        try {
                            return output.readLine();
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    })
                    .get(Timing.START.toSeconds(), TimeUnit.SECONDS)
                    .strip());

            assertThat(ReservedPort.tryTake(port)).as("held by the other JVM").isNull();

            other.destroyForcibly();
            assertThat(other.waitFor(Timing.SOON.toSeconds(), TimeUnit.SECONDS)).isTrue();
            try (ReservedPort mine = ReservedPort.tryTake(port)) {
                assertThat(mine).as("free once the other JVM died").isNotNull();
            }
        } finally {
            other.destroyForcibly();
        }
    }

    /** Another test JVM: takes a port, prints it, and holds it until its input ends (the test is done with it). */
    static final class HoldOne {
        public static void main(String[] args) throws Exception {
            System.out.println(ReservedPort.take().number());
            System.out.flush();
            while (System.in.read() != -1) {
                // Holding.
            }
        }
    }
}

package gg.starpets.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The proxy between a client and a plain loopback server standing in for PostgreSQL. */
class TcpProxyTest {

    private ServerSocket upstream;
    private final BlockingQueue<Socket> accepted = new LinkedBlockingQueue<>();

    @BeforeEach
    void startUpstream() throws IOException {
        upstream = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!upstream.isClosed()) {
                try {
                    accepted.add(upstream.accept());
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    @AfterEach
    void stopUpstream() throws IOException {
        upstream.close();
        for (Socket s : accepted) {
            s.close();
        }
    }

    private static Socket connect(TcpProxy proxy) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
        s.setSoTimeout(10_000);
        return s;
    }

    /** Set once the socket reads its end (EOF or a reset). */
    private static AtomicBoolean endOf(Socket socket) {
        AtomicBoolean ended = new AtomicBoolean();
        Thread.ofVirtual().start(() -> {
            try (InputStream in = socket.getInputStream()) {
                while (in.read() >= 0) {
                    // Only the end matters.
                }
            } catch (IOException e) {
                // A reset is an end too.
            }
            ended.set(true);
        });
        return ended;
    }

    @Test
    void resetEndsEveryRelayedConnectionOnBothSidesAndLaterConnectionsStillWork() throws Exception {
        try (TcpProxy proxy = new TcpProxy(upstream.getLocalPort());
                Socket client = connect(proxy)) {
            Socket server = accepted.poll(10, TimeUnit.SECONDS);
            client.getOutputStream().write(42);
            assertThat(server.getInputStream().read()).isEqualTo(42);
            assertThat(proxy.upstreamPorts()).containsExactly(server.getPort());
            AtomicBoolean clientEnded = endOf(client);
            AtomicBoolean serverEnded = endOf(server);

            proxy.reset();

            await().atMost(Timing.SOON).untilTrue(clientEnded);
            await().atMost(Timing.SOON).untilTrue(serverEnded);
            try (Socket again = connect(proxy)) {
                Socket server2 = accepted.poll(10, TimeUnit.SECONDS);
                again.getOutputStream().write(7);
                assertThat(server2.getInputStream().read()).isEqualTo(7);
            }
        }
    }

    @Test
    void aPartitionHoldsAClientsCloseUntilItEndsWhileAFreezeLetsItThrough() throws Exception {
        try (TcpProxy proxy = new TcpProxy(upstream.getLocalPort())) {
            Socket client = connect(proxy);
            AtomicBoolean serverEnded = endOf(accepted.poll(10, TimeUnit.SECONDS));
            proxy.partition();
            client.close();
            Timing.holdsFor(Duration.ofMillis(500)).untilFalse(serverEnded);
            proxy.resume();
            await().atMost(Timing.SOON).untilTrue(serverEnded);

            Socket client2 = connect(proxy);
            AtomicBoolean server2Ended = endOf(accepted.poll(10, TimeUnit.SECONDS));
            proxy.freeze();
            client2.close();
            await().atMost(Timing.SOON).untilTrue(server2Ended);
            proxy.resume();
        }
    }

    @Test
    void aClientIsRefusedAtOnceWhileTheServerIsDown() throws Exception {
        int port = upstream.getLocalPort();
        upstream.close();
        try (TcpProxy proxy = new TcpProxy(port);
                Socket client = connect(proxy)) {
            AtomicBoolean ended = endOf(client);
            await().atMost(Timing.SOON).untilTrue(ended);
        }
    }

    @Test
    void retargetedNewConnectionsGoToTheNewServerAndRelayedOnesStay() throws Exception {
        try (ServerSocket moved = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                TcpProxy proxy = new TcpProxy(upstream.getLocalPort());
                Socket before = connect(proxy)) {
            Socket server = accepted.poll(10, TimeUnit.SECONDS);

            proxy.retarget(moved.getLocalPort());

            moved.setSoTimeout(10_000);
            try (Socket after = connect(proxy);
                    Socket atMoved = moved.accept()) {
                after.getOutputStream().write(7);
                assertThat(atMoved.getInputStream().read()).isEqualTo(7);
            }
            before.getOutputStream().write(42);
            assertThat(server.getInputStream().read()).isEqualTo(42);
        }
    }
}

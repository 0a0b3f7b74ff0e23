package gg.starpets.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay on 127.0.0.1 between a client and PostgreSQL that a test can freeze: bytes stop
 * flowing both ways while every socket stays open, as in a network partition (no FIN, no RST); a
 * side that closes its socket during a freeze is still seen closing by the other side at once,
 * unless the freeze is a {@link #partition()}. Or reset: every relayed connection is cut, and both
 * ends see it end.
 */
public final class TcpProxy implements AutoCloseable {

    private final ServerSocket server;
    private volatile int targetPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final List<Socket> upstreams = new CopyOnWriteArrayList<>();
    private final Object gate = new Object();
    private volatile boolean frozen;
    private volatile boolean partitioned;
    private volatile boolean closed;

    public TcpProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("tcp-proxy-accept").start(this::acceptLoop);
    }

    public int port() {
        return server.getLocalPort();
    }

    /**
     * New connections go to {@code port} from now on (a database that moved, as a virtual IP would
     * follow a promoted standby); connections relayed now stay where they are.
     */
    public void retarget(int port) {
        targetPort = port;
    }

    public void freeze() {
        frozen = true;
    }

    /**
     * A freeze through which not even a close passes: a side that gives up on its connection is seen
     * doing so by the other only after {@link #resume()}, as across a real network partition.
     */
    public void partition() {
        partitioned = true;
        frozen = true;
    }

    public void resume() {
        synchronized (gate) {
            frozen = false;
            partitioned = false;
            gate.notifyAll();
        }
    }

    /**
     * Cuts every connection relayed now, with a reset (RST) to both the client and PostgreSQL, as a
     * broken network path does; the proxy goes on accepting new connections.
     */
    public void reset() {
        sockets.forEach(TcpProxy::closeWithReset);
    }

    /**
     * The local ports of the proxy's open connections to PostgreSQL: the {@code client_port} of the
     * backends that serve this proxy's client in {@code pg_stat_activity}.
     */
    public List<Integer> upstreamPorts() {
        return upstreams.stream()
                .filter(s -> !s.isClosed())
                .map(Socket::getLocalPort)
                .toList();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                continue;
            }
            Socket upstream = new Socket();
            try {
                upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 2_000);
            } catch (IOException e) {
                // PostgreSQL is down: the client is refused at once, as it would be without the proxy.
                closeWithReset(client);
                closeQuietly(upstream);
                continue;
            }
            sockets.add(client);
            sockets.add(upstream);
            upstreams.add(upstream);
            if (closed) {
                // close() ran while this connection was being set up, and did not see it: it must not
                // outlive the relay (seen under load: a session connected through a closed relay).
                closeQuietly(client);
                closeQuietly(upstream);
                return;
            }
            Thread.ofVirtual().start(() -> pump(client, upstream));
            Thread.ofVirtual().start(() -> pump(upstream, client));
        }
    }

    private static void closeWithReset(Socket socket) {
        try {
            socket.setSoLinger(true, 0);
        } catch (IOException ignored) {
            // Closed already.
        }
        closeQuietly(socket);
    }

    private void pump(Socket from, Socket to) {
        byte[] buffer = new byte[16 * 1024];
        try {
            // Not try-with-resources: closing a socket's stream closes the socket, which must wait in a partition.
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buffer)) >= 0) {
                awaitThaw();
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // One side closed; the other pump ends too.
        } finally {
            if (partitioned) {
                awaitThawQuietly();
            }
            closeQuietly(from);
            closeQuietly(to);
            sockets.remove(from);
            sockets.remove(to);
            upstreams.remove(from);
            upstreams.remove(to);
        }
    }

    private void awaitThaw() throws InterruptedException {
        synchronized (gate) {
            while (frozen && !closed) {
                gate.wait(1_000);
            }
        }
    }

    private void awaitThawQuietly() {
        try {
            awaitThaw();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        closed = true;
        resume();
        closeQuietly(server);
        sockets.forEach(TcpProxy::closeQuietly);
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // Closing is best effort.
        }
    }
}

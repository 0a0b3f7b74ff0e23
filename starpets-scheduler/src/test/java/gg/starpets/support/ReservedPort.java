package gg.starpets.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A loopback port kept for a server that cannot bind port 0 and say what it got (PostgreSQL), or that
 * must come back on the same port after a restart: picking a free port, closing it and starting the
 * server on it let anything take the port in between. Nothing takes this one:
 * <ul>
 *   <li>it is below the kernel's ephemeral range (Linux: 32768–60999), from which every bind to port 0
 *       and every outgoing connection gets its port, and clear of the twin's fixed ports (15432,
 *       18080–18085, 19090, 25432, 28080–28085, 29090);
 *   <li>a byte-range lock at the port's offset in one file under the temporary directory keeps it from
 *       other test JVMs on the machine (other builds run beside this one) until {@link #close()}; the
 *       kernel drops the lock if this JVM dies.
 * </ul>
 */
public final class ReservedPort implements AutoCloseable {

    static final int FIRST = 20_000;
    static final int LAST = 24_999;
    private static final int ATTEMPTS = 1_000;

    /** Opened once and never closed: closing any channel on the file would drop every lock this JVM holds on it. */
    private static final FileChannel LOCKS = open();

    private final int port;
    private final FileLock lock;

    private ReservedPort(int port, FileLock lock) {
        this.port = port;
        this.lock = lock;
    }

    /** A port no other test JVM holds and nothing listens on now. */
    public static ReservedPort take() {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            ReservedPort reserved = tryTake(ThreadLocalRandom.current().nextInt(FIRST, LAST + 1));
            if (reserved != null) {
                return reserved;
            }
        }
        throw new IllegalStateException("no free port in " + FIRST + "-" + LAST + " after " + ATTEMPTS + " tries");
    }

    /** This port, unless a test JVM holds it or something listens on it. */
    static ReservedPort tryTake(int port) {
        FileLock lock;
        try {
            lock = LOCKS.tryLock(port, 1, false);
        } catch (OverlappingFileLockException heldHere) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (lock == null) {
            return null;
        }
        try (ServerSocket free = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return new ReservedPort(port, lock);
        } catch (IOException listenedOn) {
            release(lock);
            return null;
        }
    }

    public int number() {
        return port;
    }

    @Override
    public void close() {
        release(lock);
    }

    private static void release(FileLock lock) {
        try {
            lock.release();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static FileChannel open() {
        Path file = Path.of(System.getProperty("java.io.tmpdir"), "starpets-test-ports.lock");
        try {
            return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + file, e);
        }
    }
}

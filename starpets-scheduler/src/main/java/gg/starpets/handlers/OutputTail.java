package gg.starpets.handlers;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** The last bytes a program wrote, and how many it wrote in all: reading never stops, memory stays bounded. */
final class OutputTail {

    private final byte[] ring;
    private long total;

    OutputTail(int capacity) {
        this.ring = new byte[capacity];
    }

    /** Reads the stream to its end, so that the program never blocks on a full pipe. */
    void drain(InputStream in) {
        byte[] buffer = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                write(buffer, n);
            }
        } catch (IOException e) {
            // The stream was closed under us (the program's end): what was read is kept.
        }
    }

    synchronized void write(byte[] bytes, int length) {
        int from = Math.max(0, length - ring.length);
        for (int i = from; i < length; i++) {
            ring[(int) ((total + i) % ring.length)] = bytes[i];
        }
        total += length;
    }

    synchronized long total() {
        return total;
    }

    /** The kept bytes as UTF-8 text; a character cut at the start is dropped. */
    synchronized String text() {
        int size = (int) Math.min(total, ring.length);
        byte[] tail = new byte[size];
        long start = total - size;
        for (int i = 0; i < size; i++) {
            tail[i] = ring[(int) ((start + i) % ring.length)];
        }
        int skip = 0;
        while (total > size && skip < size && skip < 3 && (tail[skip] & 0xC0) == 0x80) {
            skip++;
        }
        return new String(tail, skip, size - skip, StandardCharsets.UTF_8);
    }
}

package gg.starpets.bench;

import java.util.Arrays;

/** Durations (or any values) collected from many threads, for percentiles. */
final class Samples {

    private long[] values = new long[4096];
    private int size;

    synchronized void add(long value) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = value;
    }

    synchronized void clear() {
        size = 0;
    }

    synchronized int size() {
        return size;
    }

    /** The value below which {@code fraction} of the samples lie (nearest rank); NaN when empty. */
    synchronized double percentile(double fraction) {
        if (size == 0) {
            return Double.NaN;
        }
        long[] sorted = Arrays.copyOf(values, size);
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(fraction * size) - 1;
        return sorted[Math.max(0, Math.min(size - 1, rank))];
    }

    synchronized double mean() {
        if (size == 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (int i = 0; i < size; i++) {
            sum += values[i];
        }
        return sum / size;
    }
}

package gg.starpets.scheduler;

/** A task owned by a session whose lock is missing: the lock was seen at {@code seenMicros}. */
record LockMissing(long taskId, long seenMicros) {}

package gg.starpets.scheduler;

/** A run still owned, and whether an operator asked to cancel it. */
record Renewed(long runId, boolean cancelRequested) {}

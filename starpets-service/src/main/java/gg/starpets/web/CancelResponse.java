package gg.starpets.web;

/** The answer to a cancel: of a run in progress ({@code CANCELLING}) or of a pending one-off run ({@code CANCELLED}). */
record CancelResponse(long runId, String task, String status) {}

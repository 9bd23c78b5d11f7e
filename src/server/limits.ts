// Limits of the client front end, shared by the listener, INFO and CONFIG GET.

/** Connections beyond this are refused with an error (Redis maxclients default). */
export const CLIENTS_MAX = 10_000;
/** Pending output above which a connection stops reading until the client drains it. */
export const OUTPUT_PENDING_BYTES_MAX = 64 * 1024 * 1024;
/** A subscriber whose unsent messages exceed this is disconnected (Redis pubsub hard limit 32mb). */
export const PUBSUB_OUTPUT_BYTES_MAX = 32 * 1024 * 1024;
/** Input queued behind a batch that waits for a commit before the socket stops reading. */
export const QUEUED_INPUT_BYTES_MAX = 1024 * 1024;
/** Replies collected before the listener writes them even mid-chunk (bounds one batch). */
export const BATCH_OUTPUT_BYTES_MAX = 4 * 1024 * 1024;
/** Deferred (commit-waiting) replies in one batch before it is flushed. */
export const BATCH_DEFERRED_MAX = 10_000;

/** The outbox part of the storage port (core/ports.ts). Rows are plain records; db/sqlite/outbox.ts implements it. */
// biome-ignore lint/suspicious/noEmptyInterface: filled in as the feature moves onto the port
export interface OutboxStore {}

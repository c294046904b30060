/**
 * The V8 flags a Cairn node process runs with; every launcher passes them (the `cairn` executable's first line,
 * `cairn dev`, and the test, bench and torture clusters).
 *
 * A node allocates 10–20 KB per request that dies within milliseconds (request and response objects, the
 * command, log records, peer frames). With V8's default 16 MiB semi-spaces the young generation fills several
 * times a second under load, and each scavenge promotes the requests still waiting for their quorum, which the
 * old-generation collector must then collect too. 64 MiB semi-spaces (up to 128 MiB of young generation per
 * process) cut that: measured +11 % puts/s and +16 % linearizable gets/s at 256 in flight (docs/performance.md).
 */
export const NODE_RUNTIME_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

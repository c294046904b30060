/**
 * The V8 flags a Cairn node process runs with; every launcher passes them (the `cairn` executable's first line,
 * `cairn dev`, and the test, bench and torture clusters).
 *
 * A node allocates 10–20 KB per request that dies within milliseconds (request and response objects, the
 * command, log records, peer frames). With V8's default 16 MiB semi-spaces the young generation fills several
 * times a second under load, and each scavenge promotes the requests still waiting for their quorum, which the
 * old-generation collector must then collect too. 64 MiB semi-spaces (up to 128 MiB of young generation per
 * process) cut that: measured +11 % puts/s and +16 % linearizable gets/s at 256 in flight (docs/performance.md).
 *
 * V8 starts the semi-spaces at 1 MiB and grows them only as survival rates ask for it, and shrinks them again
 * when the load is light: at one write in flight (~60 KB allocated per put) that meant dozens of scavenges a
 * second. Starting them at 16 MiB (32 MiB of young generation committed per process from the start) measured put
 * latency at 1 in flight −5 to −8 % and puts/s at 256 in flight +3 to +7 %.
 */
export const NODE_RUNTIME_FLAGS: readonly string[] = ['--max-semi-space-size=64', '--min-semi-space-size=16'];

import type { Command } from 'commander';
import pino from 'pino';
import { STRATEGY_NAMES, type StrategyName } from '../balancer/types.js';
import { Gateway } from '../gateway/gateway.js';
import { GATEWAY_DEFAULTS, GatewayConfigError, type GatewayOptions } from '../gateway/options.js';
import { parseEndpoints } from './endpoints.js';

interface GatewayCommandOptions {
  endpoints?: string;
  listen: string;
  strategy: string;
  zone?: string;
  region?: string;
  discovery: boolean;
  discoveryIntervalMs?: string;
  leaderWrites: boolean;
  healthChecks: boolean;
  healthIntervalMs?: string;
  maxBodyBytes?: string;
  maxConcurrentRequests?: string;
  maxWatchStreams?: string;
  requestTimeoutMs?: string;
  trustForwardedFor?: boolean;
  logLevel: string;
}

function int(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new GatewayConfigError(`${flag} must be a non-negative integer`);
  return n;
}

/** `host:port` → its parts (IPv6 in brackets). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[2]);
  if (!m || port > 65_535) throw new GatewayConfigError(`--listen must be host:port, got "${text}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** Turns the command line into gateway options (GatewayConfigError on a bad flag). */
export function gatewayOptionsFromFlags(o: GatewayCommandOptions): GatewayOptions {
  if (!(STRATEGY_NAMES as readonly string[]).includes(o.strategy)) {
    throw new GatewayConfigError(`--strategy must be one of ${STRATEGY_NAMES.join('|')}, got "${o.strategy}"`);
  }
  const healthIntervalMs = int('--health-interval-ms', o.healthIntervalMs);
  const maxRequestBodyBytes = int('--max-body-bytes', o.maxBodyBytes);
  const maxConcurrentRequests = int('--max-concurrent-requests', o.maxConcurrentRequests);
  const maxWatchStreams = int('--max-watch-streams', o.maxWatchStreams);
  const requestTimeoutMs = int('--request-timeout-ms', o.requestTimeoutMs);
  const discoveryIntervalMs = int('--discovery-interval-ms', o.discoveryIntervalMs);
  let endpoints: string[];
  try {
    endpoints = parseEndpoints(o.endpoints ?? process.env.CAIRN_ENDPOINTS);
  } catch (error) {
    throw new GatewayConfigError(error instanceof Error ? error.message : String(error));
  }
  return {
    endpoints,
    strategy: o.strategy as StrategyName,
    ...(o.zone !== undefined ? { zone: o.zone } : {}),
    ...(o.region !== undefined ? { region: o.region } : {}),
    discovery: o.discovery,
    leaderWrites: o.leaderWrites,
    health: o.healthChecks ? (healthIntervalMs !== undefined ? { intervalMs: healthIntervalMs } : {}) : false,
    ...(discoveryIntervalMs !== undefined ? { discoveryIntervalMs } : {}),
    ...(maxRequestBodyBytes !== undefined ? { maxRequestBodyBytes } : {}),
    ...(maxConcurrentRequests !== undefined ? { maxConcurrentRequests } : {}),
    ...(maxWatchStreams !== undefined ? { maxWatchStreams } : {}),
    ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
    trustForwardedFor: o.trustForwardedFor === true,
  };
}

export function registerGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description('run an HTTP load-balancing gateway in front of the cluster (docs/load-balancing.md)')
    .requiredOption('--listen <host:port>', 'address to serve on (e.g. 127.0.0.1:7300)')
    .option('--strategy <name>', `${STRATEGY_NAMES.join(' | ')}`, GATEWAY_DEFAULTS.strategy)
    .option('--zone <zone>', "the gateway's zone (for --strategy zone)")
    .option('--region <region>', "the gateway's region (for --strategy zone)")
    .option('--no-discovery', 'use exactly --endpoints as the backends (no cluster-status discovery)')
    .option('--discovery-interval-ms <ms>', 'time between backend refreshes (default 5000)')
    .option('--no-leader-writes', 'send writes by the strategy too, not straight to the leader')
    .option('--no-health-checks', 'no active GET /healthz checks (passive ejection stays on)')
    .option('--health-interval-ms <ms>', 'time between health checks of a backend (default 2000)')
    .option('--max-body-bytes <n>', 'largest request body (default 8454144 = 8 MiB + 64 KiB)')
    .option('--max-concurrent-requests <n>', 'requests in progress before 429 (default 10000)')
    .option('--max-watch-streams <n>', 'open watch streams before 429 (default 5000)')
    .option('--request-timeout-ms <ms>', "wait for a backend's answer this long (default 15000)")
    .option('--trust-forwarded-for', "take the client's address from X-Forwarded-For (only behind a trusted proxy)")
    .option('--log-level <level>', 'fatal|error|warn|info|debug|silent', 'info')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<GatewayCommandOptions>();
      const logger = pino({ level: o.logLevel, base: { component: 'gateway' } });
      let gateway: Gateway;
      try {
        const listen = parseListen(o.listen);
        gateway = new Gateway({ ...gatewayOptionsFromFlags(o), logger });
        const address = await gateway.listen(listen.host, listen.port);
        const status = gateway.status();
        logger.info(
          {
            listen: `${address.address}:${address.port}`,
            strategy: status.strategy,
            backends: status.backends.map((b) => `${b.name}=${b.address}`),
            leader: status.leader?.name ?? null,
          },
          'gateway ready',
        );
      } catch (error) {
        console.error(`cairn gateway: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(error instanceof GatewayConfigError ? 64 : 1);
      }
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'stopping');
        void gateway.close().then(() => process.exit(0));
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}

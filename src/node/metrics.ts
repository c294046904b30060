import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { PeerStats } from '../transport/stats.js';
import { ArrayHistogram } from './array-histogram.js';
import { RequestMetrics } from './request-metrics.js';

/** The node's Prometheus metrics (served at GET /metrics). One registry per node, so tests can run several. */
export class NodeMetrics {
  readonly registry = new Registry();
  private readonly requests: RequestMetrics;
  readonly proposals: Counter;
  readonly proposalEntries: Counter;
  /** Observed per write: kept in plain arrays, not prom-client Histograms (see array-histogram.ts). */
  readonly commitSeconds: ArrayHistogram;
  readonly persistSeconds: ArrayHistogram;
  readonly fsyncSeconds: ArrayHistogram;
  readonly inlineSyncs: Counter;
  readonly applied: Gauge;
  readonly commitIndex: Gauge;
  readonly applyLag: Gauge;
  readonly term: Gauge;
  readonly isLeader: Gauge;
  readonly leaderChanges: Counter;
  readonly droppedMessages: Counter<'reason'>;
  readonly forwarded: Counter<'route'>;
  readonly events: Counter<'action' | 'outcome'>;

  /** Counts one finished HTTP request (cheaply: see request-metrics.ts). */
  observeRequest(route: string, method: string, code: number, seconds: number): void {
    this.requests.observe(route, method, code, seconds);
  }

  constructor(labels: Record<string, string>) {
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry, prefix: 'cairn_process_' });
    const r = [this.registry];
    const latency = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
    this.requests = new RequestMetrics(this.registry, latency);
    this.proposals = new Counter({
      name: 'cairn_raft_proposals_total',
      help: 'Writes proposed by this node as leader',
      registers: r,
    });
    this.proposalEntries = new Counter({
      name: 'cairn_raft_proposal_entries_total',
      help: "Log entries this node proposed for writes as leader (a turn's writes share one; proposals / entries = batch size)",
      registers: r,
    });
    const histogram = (name: string, help: string): ArrayHistogram => {
      const h = new ArrayHistogram(name, help, latency);
      this.registry.registerMetric(h as unknown as Parameters<Registry['registerMetric']>[0]);
      return h;
    };
    this.commitSeconds = histogram(
      'cairn_raft_commit_duration_seconds',
      'From proposal to applied on the leader, per log entry',
    );
    this.persistSeconds = histogram(
      'cairn_raft_persist_duration_seconds',
      'Time to make one Ready durable (group commit)',
    );
    this.fsyncSeconds = histogram('cairn_storage_fsync_duration_seconds', 'Duration of each log sync (fdatasync)');
    this.inlineSyncs = new Counter({
      name: 'cairn_storage_fsync_inline_total',
      help: 'Log syncs made on the event loop thread (small commits while the disk is fast); the rest use the thread pool',
      registers: r,
    });
    this.applied = new Gauge({ name: 'cairn_raft_applied_index', help: 'Highest applied log index', registers: r });
    this.commitIndex = new Gauge({
      name: 'cairn_raft_commit_index',
      help: 'Highest known committed index',
      registers: r,
    });
    this.applyLag = new Gauge({
      name: 'cairn_raft_apply_lag_entries',
      help: 'Committed but not yet applied entries',
      registers: r,
    });
    this.term = new Gauge({ name: 'cairn_raft_term', help: 'Current Raft term', registers: r });
    this.isLeader = new Gauge({ name: 'cairn_raft_is_leader', help: '1 when this node leads', registers: r });
    this.leaderChanges = new Counter({
      name: 'cairn_raft_leader_changes_total',
      help: 'Leader changes seen',
      registers: r,
    });
    this.droppedMessages = new Counter({
      name: 'cairn_peer_messages_dropped_total',
      help: 'Peer messages dropped (malformed, misaddressed, incomplete snapshot)',
      labelNames: ['reason'],
      registers: r,
    });
    this.events = new Counter({
      name: 'cairn_cluster_events_total',
      help: 'Automatic actions and observations (see GET /v1/cluster/events)',
      labelNames: ['action', 'outcome'],
      registers: r,
    });
    this.forwarded = new Counter({
      name: 'cairn_http_forwarded_total',
      help: 'Requests forwarded to the leader',
      labelNames: ['route'],
      registers: r,
    });
  }

  /**
   * Exports the peer transport's own counters (per peer, both directions) at scrape time. They are what
   * "messages per write" and "bytes per write" are measured from (docs/consensus.md, docs/performance.md).
   */
  attachPeerStats(read: () => Record<string, PeerStats>): void {
    const r = [this.registry];
    const counter = (name: string, help: string, field: keyof PeerStats) => {
      // prom-client counters only go up by inc(): add what the transport counted since the last scrape.
      const seen = new Map<string, number>();
      new Counter({
        name,
        help,
        labelNames: ['peer'],
        registers: r,
        collect() {
          for (const [peer, stats] of Object.entries(read())) {
            const now = Number(stats[field] ?? 0);
            const delta = now - (seen.get(peer) ?? 0);
            if (delta > 0) this.labels({ peer }).inc(delta);
            seen.set(peer, now);
          }
        },
      });
    };
    counter('cairn_peer_messages_sent_total', 'Peer messages handed to the connection', 'messagesSent');
    counter('cairn_peer_frames_sent_total', 'Peer frames written (each carries a batch of messages)', 'framesSent');
    counter('cairn_peer_bytes_sent_total', 'Peer frame bytes written', 'bytesSent');
    counter('cairn_peer_messages_received_total', 'Peer messages received', 'messagesReceived');
    counter('cairn_peer_bytes_received_total', 'Peer frame bytes read', 'bytesReceived');
    counter('cairn_peer_send_dropped_total', 'Peer messages dropped before sending (queue full, expired…)', 'dropped');
    new Gauge({
      name: 'cairn_peer_queued_messages',
      help: 'Peer messages waiting to be sent',
      labelNames: ['peer'],
      registers: r,
      collect() {
        for (const [peer, stats] of Object.entries(read())) this.labels({ peer }).set(stats.queuedMessages);
      },
    });
  }
}

import type { ServerResponse } from 'node:http';
import { BACKUP_MAGIC, type BackupHeader, frameRecord } from '../node/backup.js';
import type { ApiServer } from './api-server.js';
import { sendJson, whenWritable } from './http-server.js';

/**
 * GET /v1/maintenance/snapshot: a backup of this node's state (after a linearizable read barrier, so it holds
 * every write acknowledged before the request), streamed chunk by chunk with backpressure.
 */
export function registerMaintenanceRoutes(api: ApiServer): void {
  const { router, node } = api;

  /** The state machine's checksum at its applied index, to compare replicas (the torture harness does). */
  router.add('GET', '/v1/maintenance/checksum', (ctx) => {
    node.replica.applyDeferred();
    sendJson(ctx.res, 200, {
      node: node.name,
      applied: node.kv.appliedIndex,
      revision: node.kv.revision,
      checksum: node.kv.checksum(),
    });
  });

  router.add('GET', '/v1/maintenance/snapshot', async (ctx) => {
    await api.readBarrier('linearizable');
    const reader = node.kv.createSnapshotReader();
    const res = ctx.res as ServerResponse;
    const header: BackupHeader = {
      format: 'cairn-backup/1',
      node: node.name,
      clusterId: node.config.clusterId,
      appliedIndex: reader.appliedIndex,
      revision: reader.revision,
      createdAt: new Date().toISOString(),
    };
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="cairn-${node.name}-${reader.appliedIndex}.backup"`,
      'cairn-applied-index': String(reader.appliedIndex),
      'cairn-revision': String(reader.revision),
    });
    let aborted = false;
    res.once('close', () => {
      aborted = true;
    });
    try {
      res.write(BACKUP_MAGIC);
      res.write(frameRecord(Buffer.from(JSON.stringify(header))));
      for (let chunk = reader.nextChunk(); chunk !== null && !aborted; chunk = reader.nextChunk()) {
        if (!res.write(frameRecord(chunk))) await whenWritable(res);
      }
      res.end();
    } finally {
      reader.close();
    }
  });
}

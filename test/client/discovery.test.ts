import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ClusterView, MemberDiscovery, type StatusAnswer } from '../../src/client/discovery.js';
import { FakeClock, FakeTimers, settle } from '../balancer/helpers.js';

interface Member {
  name: string;
  http: string | null;
  role?: string;
  labels?: Record<string, string>;
}

function answer(members: Member[], leader: string | null, headers: Record<string, string> = {}): StatusAnswer {
  return {
    status: 200,
    headers,
    body: Buffer.from(
      JSON.stringify({
        clusterId: 'c',
        node: 'n1',
        leader,
        term: 3,
        members: members.map((m) => ({ role: 'follower', labels: {}, peer: 'x', ...m })),
      }),
    ),
  };
}

const three: Member[] = [
  { name: 'n1', http: '127.0.0.1:7201', labels: { zone: 'a', region: 'r', weight: '3' } },
  { name: 'n2', http: '127.0.0.1:7202', role: 'leader', labels: { zone: 'b', weight: 'lots' } },
  { name: 'n3', http: '127.0.0.1:7203', role: 'learner' },
  { name: 'n4', http: null },
];

function setup(
  respond: (origin: string, signal: AbortSignal) => StatusAnswer | Promise<StatusAnswer>,
  seeds = ['127.0.0.1:7201'],
  extra: { maxMembers?: number } = {},
) {
  const clock = new FakeClock(0);
  const timers = new FakeTimers(clock);
  const asked: string[] = [];
  const views: { view: ClusterView; changed: boolean }[] = [];
  const discovery = new MemberDiscovery({
    seeds,
    fetch: async (origin, signal) => {
      asked.push(origin);
      return respond(origin, signal);
    },
    now: clock.now,
    timers,
    refreshIntervalMs: 5_000,
    minRefreshGapMs: 1_000,
    timeoutMs: 2_000,
    ...extra,
    onRefresh: (view, changed) => views.push({ view, changed }),
  });
  return { clock, timers, asked, views, discovery };
}

describe('member discovery', () => {
  test('reads members, labels and the leader from the status answer', async () => {
    const { discovery, views } = setup(() => answer(three, 'n2'));
    const view = await discovery.start();
    assert.ok(view);
    assert.deepEqual(
      view.members.map((m) => [m.name, m.origin, m.role, m.zone, m.region, m.weight]),
      [
        ['n1', 'http://127.0.0.1:7201', 'follower', 'a', 'r', 3],
        ['n2', 'http://127.0.0.1:7202', 'leader', 'b', '', 1],
        ['n3', 'http://127.0.0.1:7203', 'learner', '', '', 1],
      ],
      'a member without an API address is left out; a malformed weight becomes 1',
    );
    assert.equal(view.leader, 'n2');
    assert.equal(view.leaderOrigin, 'http://127.0.0.1:7202');
    assert.equal(view.viaGateway, false);
    assert.equal(view.source, 'http://127.0.0.1:7201');
    assert.equal(views.length, 1);
    assert.equal(views[0]!.changed, true);
    discovery.stop();
  });

  test('refreshes periodically and says whether anything changed', async () => {
    let leader = 'n2';
    const { discovery, views, timers, asked } = setup(() => answer(three, leader));
    await discovery.start();
    await timers.advance(4_999);
    assert.equal(asked.length, 1);
    await timers.advance(1);
    assert.equal(asked.length, 2);
    assert.equal(views[1]!.changed, false);
    leader = 'n1';
    await timers.advance(5_000);
    assert.equal(asked.length, 3);
    assert.equal(views[2]!.changed, true);
    assert.equal(views[2]!.view.leaderOrigin, 'http://127.0.0.1:7201');
    discovery.stop();
    await timers.advance(60_000);
    assert.equal(asked.length, 3, 'no refresh after stop');
    assert.equal(timers.pending, 0);
  });

  test('refreshes asked for after errors are rate limited and coalesced', async () => {
    const { discovery, timers, asked } = setup(() => answer(three, 'n2'));
    await discovery.start();
    for (let i = 0; i < 50; i++) discovery.requestRefresh();
    await settle();
    assert.equal(asked.length, 1, 'within minRefreshGapMs of the last refresh: deferred');
    await timers.advance(1_000);
    assert.equal(asked.length, 2, 'fifty asks, one refresh');
    await timers.advance(500);
    discovery.requestRefresh();
    await settle();
    assert.equal(asked.length, 2);
    await timers.advance(500);
    assert.equal(asked.length, 3);
    discovery.stop();
  });

  test('a failing source: asks the other known endpoints, a bounded number per refresh', async () => {
    const down = new Set<string>(['http://127.0.0.1:7201']);
    const { discovery, timers, asked } = setup(async (origin) => {
      if (down.has(origin)) throw new Error('ECONNREFUSED');
      return answer(three, 'n2');
    });
    assert.equal(await discovery.start(), null, 'the only seed is down');
    down.clear();
    await timers.advance(5_000);
    assert.ok(discovery.view);
    // Now everything but n3 is down: the source (n1) first, then others, at most 3 per refresh.
    for (const m of three) if (m.http && m.name !== 'n3') down.add(`http://${m.http}`);
    asked.length = 0;
    await timers.advance(5_000);
    assert.equal(asked[0], 'http://127.0.0.1:7201', 'the last source is asked first');
    assert.ok(asked.length <= 3);
    assert.equal(new Set(asked).size, asked.length, 'no endpoint twice in one refresh');
    const answered = asked.includes('http://127.0.0.1:7203');
    if (!answered) {
      asked.length = 0;
      await timers.advance(5_000);
      assert.ok(asked.includes('http://127.0.0.1:7203'), 'the rotation reaches every endpoint');
    }
    assert.equal(discovery.view?.source, 'http://127.0.0.1:7203');
    assert.equal(discovery.stats().lastError, null);
    discovery.stop();
  });

  test('a hung endpoint is given up after timeoutMs and the next one asked', async () => {
    const { discovery, timers, asked } = setup(
      (origin, signal) =>
        origin === 'http://127.0.0.1:7201'
          ? new Promise<StatusAnswer>((_resolve, reject) =>
              signal.addEventListener('abort', () => reject(signal.reason)),
            )
          : answer(three, 'n2'),
      ['127.0.0.1:7201', '127.0.0.1:7202'],
    );
    const started = discovery.start();
    await timers.advance(1_999);
    assert.deepEqual(asked, ['http://127.0.0.1:7201']);
    await timers.advance(1);
    const view = await started;
    assert.equal(view?.source, 'http://127.0.0.1:7202');
    assert.deepEqual(asked, ['http://127.0.0.1:7201', 'http://127.0.0.1:7202']);
    discovery.stop();
  });

  test('malformed answers are refused and the previous view stays', async () => {
    let reply: StatusAnswer = answer(three, 'n2');
    const { discovery, timers } = setup(() => reply, ['127.0.0.1:7201'], { maxMembers: 3 });
    reply = answer(three.slice(0, 3), 'n2');
    await discovery.start();
    const before = discovery.view;
    for (const bad of [
      { status: 200, headers: {}, body: Buffer.from('not json') },
      { status: 200, headers: {}, body: Buffer.from('{"members": 5}') },
      { status: 503, headers: {}, body: Buffer.from('{}') },
      answer(three, 'n2'), // 4 members > maxMembers
    ]) {
      reply = bad;
      await timers.advance(5_000);
      assert.equal(discovery.view, before);
    }
    assert.match(discovery.stats().lastError ?? '', /4 members/);
    discovery.stop();
  });

  test('an answer through a gateway is marked as such', async () => {
    const { discovery } = setup(() => answer(three, 'n2', { 'cairn-gateway': '1' }));
    const view = await discovery.start();
    assert.equal(view?.viaGateway, true);
    discovery.stop();
  });
});

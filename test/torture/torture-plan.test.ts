import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseTortureArgs } from '../../src/torture/cli.js';
import type { TortureError } from '../../src/torture/errors.js';
import { FAULT_KINDS, type FaultKind, parseFaultKinds } from '../../src/torture/fault-kinds.js';
import { FIRST_FAULT_AFTER_MS, holdFor, planFaults } from '../../src/torture/fault-plan.js';
import { resolveTortureOptions, TORTURE_DEFAULTS } from '../../src/torture/options.js';
import { SeededRandom } from '../../src/util/random.js';

describe('fault kinds', () => {
  test('families expand, single kinds pass, order is canonical, duplicates collapse', () => {
    assert.deepEqual(parseFaultKinds('kill'), ['kill-leader', 'kill-node', 'kill-minority']);
    assert.deepEqual(parseFaultKinds('pause,kill-leader,pause-short'), ['kill-leader', 'pause-short', 'pause-long']);
    assert.deepEqual(parseFaultKinds('partition'), ['isolate-leader', 'isolate-node', 'split', 'oneway', 'bridge']);
    assert.deepEqual(parseFaultKinds('all'), [...FAULT_KINDS]);
    assert.deepEqual(parseFaultKinds('none'), []);
    assert.deepEqual(parseFaultKinds(' slow-fsync , membership '), ['slow-fsync', 'membership']);
  });

  test('an unknown name or an empty list is refused with the list of valid names', () => {
    assert.throws(
      () => parseFaultKinds('kill,explode'),
      (e: TortureError) => e.code === 'INVALID_OPTION' && /explode/.test(e.message) && /pause-long/.test(e.message),
    );
    assert.throws(
      () => parseFaultKinds(' , '),
      (e: TortureError) => e.code === 'INVALID_OPTION',
    );
  });
});

describe('fault plan', () => {
  const options = { kinds: FAULT_KINDS, durationMs: 300_000, electionTimeoutMs: 500 };

  test('the same seed gives the same plan, another seed another one', () => {
    const a = planFaults(new SeededRandom(7), options);
    const b = planFaults(new SeededRandom(7), options);
    const c = planFaults(new SeededRandom(8), options);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test('the plan fills the run, starts after the warm-up, and uses every enabled kind over a long run', () => {
    const plan = planFaults(new SeededRandom(1), options);
    assert.equal(plan[0]?.gapMs, FIRST_FAULT_AFTER_MS);
    assert.ok(plan.length >= 30, `${plan.length} faults planned for 5 minutes`);
    assert.deepEqual(
      plan.map((p) => p.index),
      plan.map((_, i) => i + 1),
    );
    assert.deepEqual(new Set(plan.map((p) => p.kind)), new Set(FAULT_KINDS));
  });

  test('only the chosen kinds, and nothing at all for none', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.subarray([...FAULT_KINDS], { minLength: 1 }),
        (seed, kinds: FaultKind[]) => {
          const plan = planFaults(new SeededRandom(seed), { ...options, kinds, durationMs: 60_000 });
          assert.ok(plan.length > 0);
          for (const p of plan) assert.ok(kinds.includes(p.kind));
        },
      ),
      { numRuns: 200 },
    );
    assert.deepEqual(planFaults(new SeededRandom(1), { ...options, kinds: [] }), []);
  });

  test('pauses are sized against the election timeout: short ones below it, long ones well above it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 100, max: 5000 }), (seed, timeout) => {
        const random = new SeededRandom(seed);
        const short = holdFor('pause-short', random, timeout);
        const long = holdFor('pause-long', random, timeout);
        assert.ok(short < timeout, `short pause ${short} < ${timeout}`);
        assert.ok(long >= 2 * timeout, `long pause ${long} >= 2 x ${timeout}`);
        assert.equal(holdFor('membership', random, timeout), 0);
        const partition = holdFor('split', random, timeout);
        assert.ok(partition >= 2 * timeout, 'a partition outlasts an election');
      }),
      { numRuns: 300 },
    );
  });

  test('a plan is bounded whatever the duration', () => {
    const plan = planFaults(new SeededRandom(3), { ...options, kinds: ['pause-short'], durationMs: 2000 });
    assert.ok(plan.length <= 2000 / 250 + 1);
  });
});

describe('options and the command line', () => {
  test('defaults are filled in and a random seed is drawn only when none is given', () => {
    const o = resolveTortureOptions({}, () => 42);
    assert.equal(o.seed, 42);
    assert.equal(o.nodes, TORTURE_DEFAULTS.nodes);
    assert.equal(resolveTortureOptions({ seed: 5 }, () => 42).seed, 5);
  });

  test('bad values name the option', () => {
    const bad: [object, RegExp][] = [
      [{ nodes: 0 }, /nodes/],
      [{ clients: 1.5 }, /clients/],
      [{ timeSeconds: 0 }, /time/],
      [{ seed: -1 }, /seed/],
      [{ endpoints: ['http://127.0.0.1:1'], unsafeLocalReads: true }, /unsafeLocalReads/],
      [{ endpoints: ['::not a url'] }, /endpoint/],
      [{ consensus: 'zab' as 'raft' }, /consensus/],
    ];
    for (const [input, message] of bad) {
      assert.throws(
        () => resolveTortureOptions(input, () => 1),
        (e: TortureError) => e.code === 'INVALID_OPTION' && message.test(e.message),
      );
    }
  });

  test('the command line maps to options', () => {
    const o = parseTortureArgs([
      '--nodes',
      '5',
      '--time',
      '300',
      '--faults',
      'kill,pause',
      '--seed',
      '9',
      '--clients',
      '4',
      '--unsafe-local-reads',
      '--consensus',
      'paxos',
    ]);
    assert.notEqual(o, 'help');
    if (o === 'help') return;
    assert.equal(o.nodes, 5);
    assert.equal(o.timeSeconds, 300);
    assert.deepEqual(o.faults, ['kill-leader', 'kill-node', 'kill-minority', 'pause-short', 'pause-long']);
    assert.equal(o.seed, 9);
    assert.equal(o.clients, 4);
    assert.equal(o.unsafeLocalReads, true);
    assert.equal(o.consensus, 'paxos');
    assert.equal(parseTortureArgs(['-h']), 'help');
    const more = parseTortureArgs(['--lease-reads', '0.3', '--think-ms', '5', '--snapshot-entries', '500']);
    assert.ok(more !== 'help');
    assert.deepEqual([more.leaseReads, more.thinkMs, more.snapshotEntries], [0.3, 5, 500]);
    assert.throws(() => resolveTortureOptions({ leaseReads: 2 }, () => 1), /leaseReads/);
    const external = parseTortureArgs(['--endpoints', 'http://a:1, http://b:2']);
    assert.deepEqual(external !== 'help' && external.endpoints, ['http://a:1', 'http://b:2']);
  });

  test('the command line refuses faults against an existing cluster, and stray arguments', () => {
    assert.throws(() => parseTortureArgs(['--endpoints', 'http://a:1', '--faults', 'kill']), /without fault/);
    assert.throws(() => parseTortureArgs(['extra']), /unexpected argument/);
    assert.throws(() => parseTortureArgs(['--nodes', 'three']), /--nodes must be a number/);
  });
});

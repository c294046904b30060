import fc from 'fast-check';
import type { HistoryOp, OpOutput } from '../../src/check/history.js';

/**
 * Tiny histories with arbitrary (mostly wrong) answers: few values and versions and coarse integer times, so that
 * ties, conditions that hold and fail, version-less answers and unknown outcomes all occur often. For comparing
 * the checker with brute force.
 */

const value = fc.constantFrom('a', 'b');
const version = fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined });
const ifVersion = fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined });

const getOutput: fc.Arbitrary<OpOutput> = fc.oneof(
  fc.constant({ found: false as const }),
  fc
    .tuple(value, version)
    .map(([v, ver]) =>
      ver === undefined ? { found: true as const, value: v } : { found: true as const, value: v, version: ver },
    ),
);
const putOutput = (conditional: boolean): fc.Arbitrary<OpOutput> =>
  conditional
    ? fc.oneof(
        version.map((ver) => (ver === undefined ? { ok: true as const } : { ok: true as const, version: ver })),
        fc.constant({ ok: false as const, code: 'COMPARE_FAILED' as const }),
      )
    : version.map((ver) => (ver === undefined ? { ok: true as const } : { ok: true as const, version: ver }));
const deleteOutput = (conditional: boolean): fc.Arbitrary<OpOutput> =>
  conditional
    ? fc.oneof(
        fc.constantFrom(0 as const, 1 as const).map((deleted) => ({ deleted })),
        fc.constant({ ok: false as const, code: 'COMPARE_FAILED' as const }),
      )
    : fc.constantFrom(0 as const, 1 as const).map((deleted) => ({ deleted }));

const tinyOp = (unknownPercent: number, writtenValues: fc.Arbitrary<string>) =>
  fc
    .record({
      kind: fc.constantFrom('get', 'get', 'put', 'put', 'delete') as fc.Arbitrary<'get' | 'put' | 'delete'>,
      value: writtenValues,
      ifVersion,
      call: fc.integer({ min: 0, max: 8 }),
      duration: fc.integer({ min: 0, max: 4 }),
      unknown: fc.integer({ min: 0, max: 99 }).map((n) => n < unknownPercent),
      clientId: fc.integer({ min: 0, max: 2 }),
    })
    .chain((r) => {
      const conditional = r.kind !== 'get' && r.ifVersion !== undefined;
      const output =
        r.kind === 'get' ? getOutput : r.kind === 'put' ? putOutput(conditional) : deleteOutput(conditional);
      return output.map((out) => ({ ...r, conditional, out }));
    });

/**
 * Between 1 and `maxOps` operations on key "k"; `unknownPercent` of them with unknown outcome. With
 * `unobservedWrites`, puts also write 'c', which no read returns (the checker merges such values).
 */
export function tinyHistory(maxOps = 7, unknownPercent = 25, unobservedWrites = false): fc.Arbitrary<HistoryOp[]> {
  const written = unobservedWrites ? fc.constantFrom('a', 'c', 'c') : value;
  return fc.array(tinyOp(unknownPercent, written), { minLength: 1, maxLength: maxOps }).map((records) =>
    records.map((r, i): HistoryOp => {
      const input: { value?: string; ifVersion?: number } = {};
      if (r.kind === 'put') input.value = r.value;
      if (r.conditional) input.ifVersion = r.ifVersion;
      return {
        id: i,
        clientId: r.clientId,
        key: 'k',
        op: r.kind,
        input,
        call: r.call,
        return: r.unknown ? null : r.call + r.duration,
        output: r.unknown ? null : r.out,
      };
    }),
  );
}

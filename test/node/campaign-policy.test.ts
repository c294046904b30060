import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healthAwareCampaignPolicy, LEADERLESS_ACCEPT_ANY_ELECTION_TIMEOUTS } from '../../src/node/campaign-policy.js';

function policy(healthy: string[], leaderlessForMs: number, self = 'n1') {
  return healthAwareCampaignPolicy({
    self,
    health: { isHealthy: (name) => healthy.includes(name) },
    voters: () => ['n1', 'n2', 'n3'],
    electionTicks: 10,
    tickMs: 100,
    leaderlessForMs: () => leaderlessForMs,
  });
}

test('a degraded node defers its campaign by two election timeouts; a healthy one does not', () => {
  assert.equal(policy(['n2', 'n3'], 0).deferTicks, 20);
  assert.equal(policy(['n1'], 0).deferTicks, 0);
});

test('an unhealthy candidate is refused while another voter is healthy, and accepted when none is', () => {
  const p = policy(['n1', 'n3'], 0);
  assert.equal(p.acceptCandidate!('n3'), true, 'a healthy candidate');
  assert.equal(p.acceptCandidate!('n2'), false, 'n1 and n3 are healthy: not n2');
  assert.equal(policy([], 0).acceptCandidate!('n2'), true, 'nobody is healthy: anyone may lead');
  assert.equal(policy(['n2'], 0).acceptCandidate!('n3'), false, 'n2 is healthy');
});

test('after enough election timeouts without a leader any candidate is accepted (health views may disagree)', () => {
  const bound = LEADERLESS_ACCEPT_ANY_ELECTION_TIMEOUTS * 10 * 100;
  assert.equal(policy(['n1', 'n3'], bound - 1).acceptCandidate!('n2'), false);
  assert.equal(policy(['n1', 'n3'], bound).acceptCandidate!('n2'), true);
});

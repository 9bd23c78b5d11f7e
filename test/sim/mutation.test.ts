// Proves the simulator catches deliberately injected core bugs within the CI seed budget: each mutation makes some seed fail a data invariant (not throw) that passes on the unmutated core.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSeed } from './harness.js';
import { findMutation } from './mutations.js';
import { CI_SEED_COUNT } from './budget.js';

/** Invariants about the data itself (not WAIT accounting, detector timing or a known design gap). */
const DATA_INVARIANTS = new Set([
  'divergence',
  'convergence',
  'merkle-root',
  'lost-write',
  'not-newest',
  'resurrection',
  'read-your-writes',
  'version-conflict',
  'counter',
  'deleted-field',
  'cleared-row-remains',
  'removed-member',
  'list-order',
  'element-order',
]);

function firstCaughtSeed(name: string): { seed: number; invariants: string[] } | undefined {
  const mutation = findMutation(name);
  assert.ok(mutation !== undefined, `mutation ${name} exists`);
  for (let seed = 1; seed <= CI_SEED_COUNT; seed++) {
    const uninstall = mutation.install?.();
    let mutated;
    try {
      mutated = runSeed({ seed, config: mutation.config });
    } finally {
      uninstall?.();
    }
    // An exception is a broken mutation (or simulator), never a catch.
    const exception = mutated.failures.find((failure) => failure.invariant === 'exception');
    assert.equal(exception, undefined, `mutation ${name} threw on seed ${seed}: ${exception?.detail}`);
    const dataFailure = mutated.failures.find((failure) => DATA_INVARIANTS.has(failure.invariant));
    if (dataFailure === undefined) continue;
    // Only a seed that the correct core passes shows the mutation was caught.
    if (runSeed({ seed }).failures.every((failure) => !DATA_INVARIANTS.has(failure.invariant))) {
      return { seed, invariants: [...new Set(mutated.failures.map((failure) => failure.invariant).filter((invariant) => DATA_INVARIANTS.has(invariant)))] };
    }
  }
  return undefined;
}

for (const name of ['merge-ignores-origin', 'counter-merge-max', 'set-merge-add-wins', 'grace-short', 'grace-0']) {
  test(`mutation ${name} is caught within ${CI_SEED_COUNT} seeds`, () => {
    const caught = firstCaughtSeed(name);
    assert.ok(caught !== undefined, `no seed caught ${name}`);
    console.log(`mutation ${name}: caught by seed ${caught.seed} (${caught.invariants.join(', ')})`);
  });
}

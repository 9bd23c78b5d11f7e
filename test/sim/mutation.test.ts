// Proves the simulator catches deliberately injected core bugs within the CI seed budget: each mutation makes some seed fail that passes on the unmutated core.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSeed } from './harness.js';
import { findMutation } from './mutations.js';
import { CI_SEED_COUNT } from './budget.js';

/** Invariants about the data itself (not WAIT accounting or detector timing). */
const DATA_INVARIANTS = new Set(['divergence', 'convergence', 'merkle-root', 'lost-write', 'not-newest', 'resurrection', 'read-your-writes', 'version-conflict']);

function firstCaughtSeed(name: string): { seed: number; invariant: string } | undefined {
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
    const dataFailure = mutated.failures.find((failure) => DATA_INVARIANTS.has(failure.invariant));
    if (dataFailure === undefined) continue;
    // Only a seed that the correct core passes shows the mutation was caught.
    if (runSeed({ seed }).failures.length === 0) return { seed, invariant: dataFailure.invariant };
  }
  return undefined;
}

for (const name of ['merge-ignores-origin', 'grace-short', 'grace-0']) {
  test(`mutation ${name} is caught within ${CI_SEED_COUNT} seeds`, () => {
    const caught = firstCaughtSeed(name);
    assert.ok(caught !== undefined, `no seed caught ${name}`);
    console.log(`mutation ${name}: caught by seed ${caught.seed} (${caught.invariant})`);
  });
}

// The simulator's share of `npm test`: seeds swept per run, sized to about 40 s on a 2-core
// box. The typed-row workload (typed-ops.ts) costs about 1.22x the CPU per seed of the
// string-only one it replaced, so the budget went from 800 to 650 seeds; the set, sorted-set
// and list commands (collection-ops.ts) cost 1.16x more again (user CPU of 100 seeds, 7.5 s
// against 6.5 s, measured back to back twice on a shared box), so 560 seeds keep the time.
// The CLI prints seeds/s for re-measuring.
export const CI_SEED_COUNT = 560;

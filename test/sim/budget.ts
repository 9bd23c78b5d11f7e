// The simulator's share of `npm test`: seeds swept per run, sized to about a minute on a
// 2-core box (measured 15-30 seeds/s; the CLI prints seeds/s for re-measuring).
export const CI_SEED_COUNT = 800;

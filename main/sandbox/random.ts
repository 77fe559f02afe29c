/** Deterministic randomness for the fakes' seed data: the same seed gives the same shop every time. */
export type Rand = () => number;

/** mulberry32: tiny, fast, good enough for test data. */
export function prng(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const int = (r: Rand, min: number, max: number): number => min + Math.floor(r() * (max - min + 1));
export const pick = <T>(r: Rand, list: readonly T[]): T => list[Math.floor(r() * list.length)];
export const digits = (r: Rand, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += String(Math.floor(r() * 10));
  return s;
};

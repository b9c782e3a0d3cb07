/** The most points a metric's chart holds: the extension sends at most this many, the panel keeps about this many. */
export const MAX_POINTS = 600;

/** At most `max` points for display, keeping each bucket's extreme so spikes stay visible. */
export function downsample(points: [number, number | null][], max: number): [number, number | null][] {
  if (points.length <= max) return points;
  const size = points.length / max;
  const out: [number, number | null][] = [];
  for (let b = 0; b < max; b++) {
    const bucket = points.slice(Math.floor(b * size), Math.floor((b + 1) * size));
    let pick = bucket[0];
    for (const p of bucket) if (p[1] !== null && (pick[1] === null || Math.abs(p[1]) > Math.abs(pick[1]))) pick = p;
    out.push(pick);
  }
  return out;
}

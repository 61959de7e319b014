/** How images and their masks are named and ordered, the same in the studio's ingest and the headless trainer's folders. */

/** The name without its folders and extension: what an image and its mask share. */
export function stem(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/** The keys a mask file answers to: its stem, and its stem without a mask suffix (`0001_mask.png` ↔ `0001.jpg`). */
export function maskKeys(name: string): string[] {
  const s = stem(name);
  const bare = s.replace(/[-_.](mask|masks|seg|segmentation|gt|label|labels)$/i, '');
  return bare !== s && bare !== '' ? [s, bare] : [s];
}

/** File names in natural order (`img2` before `img10`). */
export const naturalOrder = new Intl.Collator(undefined, { numeric: true, sensitivity: 'variant' });

/** Region colours (RGB 0..255), shared by the worker's renderings and the UI's legend: distinct, readable over photos. */
export const REGION_COLOURS: Array<[number, number, number]> = [
  [255, 64, 64],
  [64, 160, 255],
  [80, 220, 100],
  [255, 200, 40],
  [200, 90, 255],
  [40, 230, 230],
  [255, 130, 40],
  [160, 160, 160],
];

export function regionColour(k: number): [number, number, number] {
  return REGION_COLOURS[k % REGION_COLOURS.length]!;
}

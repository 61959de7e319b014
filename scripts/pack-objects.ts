/**
 * Builds `public/objects/`, the committed sources of the objects-on-photos data set (src/datagen/objectsOnPhotos.ts):
 * two emoji atlases (train and test emoji disjoint) and a dozen photographs, with their credits. Run it only to
 * change the sources; the data set generator (`npm run data:objects`) and the studio read the committed output.
 *
 *   npm i --no-save emoji-datasource-twitter@16.0.0      # Twemoji 64 px PNGs (artwork CC-BY 4.0, Twitter)
 *   apt-get install -y mate-backgrounds                  # /usr/share/backgrounds/mate/nature (photos, GPL-2+)
 *   npx tsx scripts/pack-objects.ts [--emoji DIR] [--photos DIR]
 *
 * Emoji kept: categories of things (no flags, symbols or skin-tone components), no ZWJ sequences, the opaque part
 * at least 35 % of its bounding box and the box at least 32 px on its longer side. Every 5th kept emoji (in the
 * package's sort order) goes to the test atlas. Photos: shorter side resized to 480 px, JPEG quality 90.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode, encode } from 'fast-png';
import { Jimp } from 'jimp';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({
  options: {
    emoji: { type: 'string', default: join(root, 'node_modules/emoji-datasource-twitter') },
    photos: { type: 'string', default: '/usr/share/backgrounds/mate/nature' },
  },
});
const out = join(root, 'public', 'objects');
const CELL = 64;
const COLUMNS = 32;
const KEEP = new Set([
  'Smileys & Emotion',
  'People & Body',
  'Animals & Nature',
  'Food & Drink',
  'Travel & Places',
  'Activities',
  'Objects',
]);

interface EmojiEntry {
  name: string;
  unified: string;
  image: string;
  category: string;
  sort_order: number;
  has_img_twitter: boolean;
}

/** The tight bounding box of alpha ≥ 128 pixels, cut out of a 64×64 RGBA image. */
function trim(rgba: Uint8Array, w: number, h: number): { w: number; h: number; rgba: Uint8Array; fill: number } | null {
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  let opaque = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (rgba[(y * w + x) * 4 + 3]! >= 128) {
        opaque++;
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return null;
  // Keep a one-pixel margin of the soft edge where there is room.
  x0 = Math.max(0, x0 - 1);
  y0 = Math.max(0, y0 - 1);
  x1 = Math.min(w - 1, x1 + 1);
  y1 = Math.min(h - 1, y1 + 1);
  const tw = x1 - x0 + 1;
  const th = y1 - y0 + 1;
  const cut = new Uint8Array(tw * th * 4);
  for (let y = 0; y < th; y++) cut.set(rgba.subarray(((y0 + y) * w + x0) * 4, ((y0 + y) * w + x1 + 1) * 4), y * tw * 4);
  return { w: tw, h: th, rgba: cut, fill: opaque / (tw * th) };
}

interface Packed {
  name: string;
  unified: string;
  w: number;
  h: number;
  rgba: Uint8Array;
}

function atlas(sprites: Packed[]): Uint8Array {
  const rows = Math.ceil(sprites.length / COLUMNS);
  const W = COLUMNS * CELL;
  const img = new Uint8Array(W * rows * CELL * 4);
  sprites.forEach((s, k) => {
    const cx = (k % COLUMNS) * CELL;
    const cy = Math.floor(k / COLUMNS) * CELL;
    for (let y = 0; y < s.h; y++) img.set(s.rgba.subarray(y * s.w * 4, (y + 1) * s.w * 4), ((cy + y) * W + cx) * 4);
  });
  return encode({ width: W, height: rows * CELL, data: img, channels: 4, depth: 8 });
}

async function main(): Promise<void> {
  const emojiDir = flags.emoji;
  if (!existsSync(join(emojiDir, 'emoji.json')))
    throw new Error(`no emoji.json in ${emojiDir}: npm i --no-save emoji-datasource-twitter@16.0.0`);
  if (!existsSync(flags.photos)) throw new Error(`no photos in ${flags.photos}: apt-get install -y mate-backgrounds`);
  const version = (JSON.parse(readFileSync(join(emojiDir, 'package.json'), 'utf8')) as { version: string }).version;
  const entries = (JSON.parse(readFileSync(join(emojiDir, 'emoji.json'), 'utf8')) as EmojiEntry[])
    .filter((e) => e.has_img_twitter && KEEP.has(e.category) && !e.unified.includes('-200D-'))
    .sort((a, b) => a.sort_order - b.sort_order);
  const kept: Packed[] = [];
  for (const e of entries) {
    const file = join(emojiDir, 'img/twitter/64', e.image);
    if (!existsSync(file)) continue;
    const png = decode(readFileSync(file));
    if (png.channels !== 4 || png.depth !== 8 || png.width !== CELL || png.height !== CELL) continue;
    const t = trim(png.data as Uint8Array, png.width, png.height);
    if (!t || t.fill < 0.35 || Math.max(t.w, t.h) < 32) continue;
    kept.push({ name: e.name.toLowerCase(), unified: e.unified, w: t.w, h: t.h, rgba: t.rgba });
  }
  const test = kept.filter((_, i) => i % 5 === 4);
  const train = kept.filter((_, i) => i % 5 !== 4);
  mkdirSync(join(out, 'photos'), { recursive: true });
  writeFileSync(join(out, 'emoji-train.png'), atlas(train));
  writeFileSync(join(out, 'emoji-test.png'), atlas(test));

  const photos: Array<{ file: string; width: number; height: number }> = [];
  for (const f of readdirSync(flags.photos)
    .filter((n) => /\.jpe?g$/i.test(n))
    .sort()) {
    const img = await Jimp.read(join(flags.photos, f));
    const k = 480 / Math.min(img.bitmap.width, img.bitmap.height);
    img.resize({ w: Math.round(img.bitmap.width * k), h: Math.round(img.bitmap.height * k) });
    const rel = `photos/${f.replace(/\.jpe?g$/i, '.jpg')}`;
    writeFileSync(join(out, rel), await img.getBuffer('image/jpeg', { quality: 90 }));
    photos.push({ file: rel, width: img.bitmap.width, height: img.bitmap.height });
  }
  const index = {
    format: 'redo-objects-sources',
    version: 1,
    cell: CELL,
    columns: COLUMNS,
    emoji: { package: 'emoji-datasource-twitter', version, licence: 'Twemoji artwork © Twitter, Inc. and contributors, CC-BY 4.0' },
    atlases: {
      train: { file: 'emoji-train.png', sprites: train.map((s) => ({ name: s.name, unified: s.unified, w: s.w, h: s.h })) },
      test: { file: 'emoji-test.png', sprites: test.map((s) => ({ name: s.name, unified: s.unified, w: s.w, h: s.h })) },
    },
    photos,
  };
  writeFileSync(join(out, 'sources.json'), `${JSON.stringify(index, null, 1)}\n`);
  console.log(`pack-objects: ${train.length} train + ${test.length} test emoji, ${photos.length} photos → ${out}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? `error: ${e.message}` : e);
  process.exit(1);
});

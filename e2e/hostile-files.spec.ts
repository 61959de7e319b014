/**
 * Odd and hostile files in the browser's own decoder (createImageBitmap in the training worker), which the unit
 * tests cannot reach: a CMYK JPEG, a 16-bit PNG and an animated GIF are used (with their notes), a 12,000 × 12,000
 * image is decoded already shrunk, and a 30,000 × 30,000 decode bomb, a truncated JPEG, a 1×1 image, HEIC and SVG
 * are refused with their reasons, the page alive throughout. Then the storage line next to the stored datasets.
 */
import { expect, test } from '@playwright/test';
import { animatedGif, CMYK_JPEG, deepPng, heicLookAlike, jpeg, rgbPng, SVG, zeroPng } from '../tests/helpers/hostileFiles';

test('the browser decodes what it can (a 12,000² image shrunk while decoding) and refuses the rest with reasons', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/?backend=cpu&preset=tiny&size=32');
  const photo = await jpeg(48, 40);
  const file = (name: string, mimeType: string, bytes: Uint8Array) => ({ name, mimeType, buffer: Buffer.from(bytes) });
  const t0 = Date.now();
  await page
    .getByTestId('files-input')
    .setInputFiles([
      file('photo.jpg', 'image/jpeg', photo),
      file('cmyk.jpg', 'image/jpeg', CMYK_JPEG),
      file('deep16.png', 'image/png', deepPng(40, 36)),
      file('animated.gif', 'image/gif', animatedGif(40, 36, 3)),
      file('huge-12000.png', 'image/png', zeroPng(12_000, 12_000)),
      file('bomb-30000.png', 'image/png', zeroPng(30_000, 30_000)),
      file('truncated.jpg', 'image/jpeg', photo.subarray(0, Math.floor(photo.length * 0.6))),
      file('one-pixel.png', 'image/png', rgbPng(1, 1)),
      file('IMG_0001.heic', 'image/heic', heicLookAlike()),
      file('drawing.svg', 'image/svg+xml', SVG),
    ]);
  await expect(page.getByTestId('ingest-result')).toBeVisible({ timeout: 300_000 });
  console.log(`MEASURED hostile ingest in the browser: ${((Date.now() - t0) / 1000).toFixed(1)} s for 10 files (one of 144 megapixels)`);
  await expect(page.getByTestId('ingest-accepted')).toHaveText('5');
  const reason = (name: string) => page.getByTestId('rejected-list').locator(`li[data-name="${name}"]`);
  await expect(page.getByTestId('rejected-list').locator('li')).toHaveCount(5);
  await expect(reason('bomb-30000.png')).toContainText('too large to decode safely: 30000×30000 is 900 megapixels');
  await expect(reason('truncated.jpg')).toContainText('truncated JPEG');
  await expect(reason('one-pixel.png')).toContainText('too small to learn from');
  await expect(reason('IMG_0001.heic')).toContainText('HEIC photo');
  await expect(reason('drawing.svg')).toContainText('SVG drawing');
  const warnings = page.getByTestId('ingest-warnings');
  await expect(warnings).toContainText('CMYK JPEG (print colours): converted to RGB');
  await expect(warnings).toContainText('animated GIF (3 frames): the first frame is used');
  expect(errors).toEqual([]);

  // the storage line: usage and what is left, and the browser's answer to the persistence request
  const storage = page.getByTestId('storage');
  await expect(storage).toContainText(/used, .* available\. Persistent storage (granted|not granted)/);
  console.log(`MEASURED storage line: ${await storage.textContent()}`);
});

/**
 * The golden eval-mode comparison in headless Chromium on the WebGPU backend (SwiftShader here): the GPU kernels
 * compute what the authors' code computes. Tolerance 1e-3·max(1, max|ref|) per tensor.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import type { ConformanceReport } from './harness/conformance';

const GOLDEN = fileURLToPath(new URL('../../shared/golden/', import.meta.url));

test('golden eval outputs on WebGPU', async ({ page }) => {
  test.setTimeout(560_000); // paper-size networks on SwiftShader: minutes on a loaded 2-core machine
  await page.route('**/golden/*.safetensors', (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop()!;
    return route.fulfill({ body: readFileSync(`${GOLDEN}${name}`), contentType: 'application/octet-stream' });
  });
  await page.goto('/e2e/harness/conformance.html?backend=webgpu');
  await page.waitForFunction(() => window.__conformance !== undefined, undefined, { timeout: 540_000 });
  const report = (await page.evaluate(() => window.__conformance)) as ConformanceReport;
  expect(report.error).toBeUndefined();
  expect(report.backend).toBe('webgpu');
  console.log(`conformance on ${report.backend} (${report.adapter})`);
  for (const [file, results] of Object.entries(report.results)) {
    console.log(file);
    console.table(results.map((r) => ({ tensor: r.name, maxError: r.maxError.toExponential(2), maxRef: r.scale.toExponential(2) })));
    expect(results).toHaveLength(5);
    for (const r of results) {
      expect(r.maxError, `${file} ${r.name}: max error ${r.maxError} > ${1e-3 * Math.max(1, r.scale)}`).toBeLessThanOrEqual(
        1e-3 * Math.max(1, r.scale),
      );
    }
  }
});

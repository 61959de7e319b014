/**
 * A browser without WebGPU: the studio says so plainly, offers WebAssembly first (the fast CPU path, with its
 * threads), then WebGL and CPU, and trains on the one the user picks (here WebAssembly). WebGPU is hidden from the
 * training worker by prefixing its script (the page itself is unchanged).
 * Also: the colored-2-MNIST demo is one click from an empty studio and starts training by itself.
 */
import { expect, test } from '@playwright/test';

test('without WebGPU the studio says why, offers WebAssembly first, then WebGL / CPU, and the demo trains on WebAssembly', async ({
  page,
}) => {
  await page.route('**/*rainingWorker*.js', async (route) => {
    const response = await route.fetch();
    const hide = "Object.defineProperty(WorkerNavigator.prototype, 'gpu', { get: () => undefined, configurable: true });\n";
    await route.fulfill({ response, body: hide + (await response.text()) });
  });
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto('/?preset=tiny&lossEvery=1&previewEvery=2&ckptEvery=0&steps=100000');

  const problem = page.getByTestId('backend-problem');
  await expect(problem).toContainText('WebGPU is not available', { timeout: 60_000 });
  await expect(problem).toContainText('no WebGPU');
  await expect(page.getByTestId('backend')).toHaveText('none');
  const offers = problem.getByRole('button');
  await expect(offers).toHaveText([
    /^Use WebAssembly instead — the fast CPU path \(XNNPACK SIMD kernels, \d+ threads?\)$/,
    /^Use WebGL instead/,
    /^Use CPU instead/,
  ]);
  await expect(page.getByTestId('start')).toBeDisabled();

  await page.getByTestId('use-wasm').click();
  await expect(page.getByTestId('backend')).toContainText(/^wasm — \d+ threads?, XNNPACK$/, { timeout: 60_000 });
  await expect(page.getByTestId('backend-fallback')).toContainText('WebAssembly, the fast CPU path');
  await expect(problem).toHaveCount(0);

  await page.getByTestId('demo').click();
  await expect(page.getByTestId('dataset-list')).toContainText('MNIST', { timeout: 120_000 });
  await expect(page.getByTestId('run-state')).toHaveText('running', { timeout: 120_000 });
  await expect.poll(async () => Number(await page.getByTestId('step').textContent()), { timeout: 240_000 }).toBeGreaterThanOrEqual(3);
  await expect(page.getByTestId('metrics-latest')).toContainText('accuracy', { timeout: 120_000 });
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('run-state')).toHaveText('paused', { timeout: 120_000 });
});

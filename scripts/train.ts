/**
 * `npm run train -- --dataset <folder|c2mnist> --preset NAME --steps N [--masks <folder>] --out run.zip`
 * (options: src/node/args.ts). The trainer runs in a supervised child process so that Ctrl-C always gets its
 * final checkpoint written (src/node/supervise.ts); REDO_NO_SUPERVISE=1 runs it in this process.
 */
import { fileURLToPath } from 'node:url';
import { trainMain } from '../src/node/trainCli';
import { isSupervisedChild, supervise } from '../src/node/supervise';

const argv = process.argv.slice(2);
const run =
  isSupervisedChild() || process.env.REDO_NO_SUPERVISE === '1' ? trainMain(argv) : supervise(fileURLToPath(import.meta.url), argv);
run.then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? `error: ${e.message}` : e);
    process.exit(1);
  },
);

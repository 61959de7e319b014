// Prints one "N passed, N failed" line from the JSON reports of vitest (reports/unit.json) and Playwright
// (reports/e2e.json), for CI logs. A missing report counts as one failure: that runner did not finish.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
const unit = 'reports/unit.json';
if (existsSync(unit)) {
  const r = JSON.parse(readFileSync(unit, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
} else {
  failed += 1;
  console.log(`(no ${unit}: the unit tests did not run to the end)`);
}
const e2e = 'reports/e2e.json';
if (existsSync(e2e)) {
  const r = JSON.parse(readFileSync(e2e, 'utf8'));
  passed += r.stats.expected + (r.stats.flaky ?? 0);
  failed += r.stats.unexpected;
} else if (JSON.parse(readFileSync('package.json', 'utf8')).scripts['test:e2e']) {
  failed += 1;
  console.log(`(no ${e2e}: the e2e tests did not run to the end)`);
}
console.log(`${passed} passed, ${failed} failed`);

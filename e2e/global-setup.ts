/** Writes the e2e test data (see fixtures.ts) before any test runs. */
import { writeFixtures } from './fixtures';

export default function globalSetup(): void {
  writeFixtures();
}

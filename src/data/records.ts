/** What the studio stores and lists: a dataset's summary and a training run's record (src/data/db.ts keeps them). */
import type { RedoConfig } from '../redo/config';

/** A stored dataset, as the studio lists it. */
export interface DatasetSummary {
  id: string;
  name: string;
  size: number;
  count: number;
  hasMasks: boolean;
  createdAt: string;
}

/** A stored training run, as the studio lists it. */
export interface RunRecord {
  runId: string;
  datasetId: string;
  config: RedoConfig;
  createdAt: string;
  updatedAt: string;
  step: number;
}

/**
 * Initial settings, overridable from the URL query (handy for tests and for sharing a setup):
 * `?backend=webgpu|wasm|webgl|cpu&preset=tiny&batch=4&regions=2&size=32&steps=2000&seed=1`
 * `&ckptEvery=50&previewEvery=25&lossEvery=5`; best of K starts: `&starts=3&startSteps=300` (also what the objects demo
 * uses when given, e.g. fewer iterations in tests).
 */
import { PRESET_NAMES, preset, type PresetName, type RedoConfig } from '../redo/config';
import type { BackendName, LoopOptions, StartsPlan } from '../worker/protocol';

export interface InitialSettings {
  backend: BackendName;
  presetName: PresetName;
  config: RedoConfig;
  seed: number;
  options: LoopOptions;
  /** Best of K starts for a new run (count 1: a plain run). */
  starts: StartsPlan;
  /** True when the URL set the starts (the objects demo then keeps them instead of its own). */
  startsFromUrl: boolean;
}

export const DEFAULT_PRESET: PresetName = 'small-64';
export const DEFAULT_OPTIONS: LoopOptions = { lossEvery: 5, previewEvery: 50, checkpointEvery: 200, maxSteps: 20_000 };
export const DEFAULT_STARTS: StartsPlan = { count: 1, steps: 300 };

function int(q: URLSearchParams, key: string): number | undefined {
  const v = q.get(key);
  if (v === null || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

export function initialSettings(search: string = typeof location !== 'undefined' ? location.search : ''): InitialSettings {
  const q = new URLSearchParams(search);
  const b = q.get('backend');
  const backend: BackendName = b === 'wasm' || b === 'webgl' || b === 'cpu' || b === 'webgpu' ? b : 'webgpu';
  const p = q.get('preset');
  const presetName: PresetName = p && (PRESET_NAMES as string[]).includes(p) ? (p as PresetName) : DEFAULT_PRESET;
  const overrides: Partial<RedoConfig> = {};
  const batch = int(q, 'batch');
  if (batch) overrides.batchSize = batch;
  const regions = int(q, 'regions');
  if (regions && regions >= 2) overrides.nRegions = regions;
  const size = int(q, 'size');
  if (size === 32 || size === 64 || size === 128) overrides.imageSize = size;
  let config: RedoConfig;
  try {
    config = preset(presetName, overrides);
  } catch {
    config = preset(presetName);
  }
  const options: LoopOptions = {
    lossEvery: int(q, 'lossEvery') || DEFAULT_OPTIONS.lossEvery,
    previewEvery: int(q, 'previewEvery') ?? DEFAULT_OPTIONS.previewEvery,
    checkpointEvery: int(q, 'ckptEvery') ?? DEFAULT_OPTIONS.checkpointEvery,
    maxSteps: int(q, 'steps') || DEFAULT_OPTIONS.maxSteps,
  };
  const count = int(q, 'starts');
  const steps = int(q, 'startSteps');
  const starts: StartsPlan = { count: count && count >= 1 ? count : DEFAULT_STARTS.count, steps: steps || DEFAULT_STARTS.steps };
  const startsFromUrl = count !== undefined || steps !== undefined;
  return { backend, presetName, config, seed: int(q, 'seed') ?? 1, options, starts, startsFromUrl };
}

/** The worker watchdog's default: no message for this long and the worker is restarted (a step may take long on CPU). */
export const DEFAULT_WATCHDOG_MS = 120_000;

/**
 * Harness settings, for tests: `&testHooks=1` exposes window.__redoTest (kill the worker, destroy the GPU device,
 * weight checksums); `&watchdog=MS` shortens the worker watchdog.
 */
export function harnessFlags(search: string = typeof location !== 'undefined' ? location.search : ''): {
  testHooks: boolean;
  watchdogMs: number;
} {
  const q = new URLSearchParams(search);
  const w = int(q, 'watchdog');
  return { testHooks: q.get('testHooks') === '1', watchdogMs: w && w >= 200 ? w : DEFAULT_WATCHDOG_MS };
}

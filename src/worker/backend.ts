/**
 * TF.js backend selection in the worker: WebGPU first; WebAssembly (XNNPACK: the fast CPU path), WebGL and CPU,
 * in that order, only when the user picks them after being told plainly why WebGPU is not available.
 */
import * as tf from '../redo/tf';
import '@tensorflow/tfjs-backend-webgpu';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { AdapterInfo, BackendName, BackendReport } from './protocol';
import { availableThreads, startWasm, wasmThreads } from './wasmSetup';
import { useWebgpuKernelOverrides } from '../kernels/webgpuKernels';

// After tfjs-backend-webgpu's own registrations (src/kernels/webgpuKernels.ts: a one-program Sum over middle axes).
useWebgpuKernelOverrides();

const ALL: BackendName[] = ['webgpu', 'wasm', 'webgl', 'cpu'];

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function probeAdapter(): Promise<{ adapter?: AdapterInfo; problem?: string }> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { problem: 'This browser has no WebGPU (navigator.gpu is missing in the worker).' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { problem: `WebGPU is present but asking for a GPU adapter failed: ${message(e)}` };
  }
  if (!adapter) return { problem: 'WebGPU is present but no GPU adapter is available (the GPU may be blocklisted or disabled).' };
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  return {
    adapter: {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      device: info?.device ?? '',
      description: info?.description ?? '',
    },
  };
}

/**
 * Sets the requested backend. Never falls back silently: on failure `active` is null and `fallbackReason` says why.
 * `wasmThreads`: threads for the wasm backend (default: every core the page may use; fixed once wasm has started).
 */
export async function selectBackend(requested: BackendName, opts: { wasmThreads?: number } = {}): Promise<BackendReport> {
  const offered = ALL.filter((b) => b !== requested);
  let adapter: AdapterInfo | undefined;
  if (requested === 'webgpu') {
    const probe = await probeAdapter();
    if (probe.problem) return { active: null, requested, fallbackReason: probe.problem, offered, threads: availableThreads() };
    adapter = probe.adapter;
  }
  let ok = false;
  let reason = '';
  try {
    ok = requested === 'wasm' ? await startWasm(opts.wasmThreads) : await tf.setBackend(requested);
    await tf.ready();
  } catch (e) {
    reason = message(e);
  }
  if (!ok || tf.getBackend() !== requested) {
    const what =
      requested === 'webgpu'
        ? 'The WebGPU adapter was found but TF.js could not start its WebGPU backend'
        : `The ${requested} backend could not start`;
    const fallbackReason = `${what}${reason ? `: ${reason}` : '.'}`;
    return { active: null, requested, adapter, fallbackReason, offered, threads: availableThreads() };
  }
  return { active: requested, requested, adapter, offered, threads: requested === 'wasm' ? wasmThreads() : availableThreads() };
}

/**
 * `requested`, or when it does not start the first of the others that does (WebGPU, WebAssembly, WebGL, CPU in
 * that order): for a demo clicked where WebGPU is missing. Never silent: the report's `auto` names what failed and
 * why, and `fallbackReason` is the first failure's reason. All failed: the last report (active null).
 */
export async function selectBestBackend(requested: BackendName, opts: { wasmThreads?: number } = {}): Promise<BackendReport> {
  const first = await selectBackend(requested, opts);
  if (first.active) return first;
  const tried: Array<{ backend: BackendName; reason: string }> = [{ backend: requested, reason: first.fallbackReason ?? '' }];
  for (const b of ALL.filter((x) => x !== requested)) {
    const last = await selectBackend(b, opts);
    if (last.active) {
      return { ...last, fallbackReason: first.fallbackReason, auto: { instead: requested, tried } };
    }
    tried.push({ backend: b, reason: last.fallbackReason ?? '' });
  }
  return { ...first, fallbackReason: tried.map((t) => `${t.backend}: ${t.reason}`).join(' ') };
}

/**
 * Waits until the GPU has finished what was submitted so far (WebGPU only; no readback). Keeps the worker
 * at most one step ahead of the GPU, so a pause takes effect within a step.
 */
export function gpuFence(): Promise<void> | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const b = tf.backend() as WebGPUBackend;
  // As the backend's own readback does: close the open compute pass, then submit everything encoded so far.
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  b.submitQueue();
  return b.device.queue.onSubmittedWorkDone();
}

export function gpuBytes(): number | null {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  return typeof m.numBytesInGPU === 'number' ? m.numBytesInGPU : null;
}

/** Devices already watched (a backend switch back to WebGPU reuses TF.js's device). */
const watched = new WeakSet<GPUDevice>();

/**
 * Calls `onLost` once when the active WebGPU device is lost (GPUDevice.lost: a driver reset, a laptop's sleep,
 * destroy()). Nothing when the active backend is not WebGPU.
 */
export function watchDeviceLoss(onLost: (info: { reason: string; message: string }) => void): void {
  if (tf.getBackend() !== 'webgpu') return;
  const device = (tf.backend() as WebGPUBackend).device;
  if (watched.has(device)) return;
  watched.add(device);
  void device.lost.then((info) => onLost({ reason: info.reason ?? 'unknown', message: info.message }));
}

/** Test hook: destroys the active WebGPU device (as a lost GPU would take it). False when WebGPU is not active. */
export function destroyDevice(): boolean {
  if (tf.getBackend() !== 'webgpu') return false;
  (tf.backend() as WebGPUBackend).device.destroy();
  return true;
}

/**
 * Node-only: puts TF.js (the same instance src/redo uses) on the `webgpu` backend through the npm package
 * `webgpu` (Dawn for Node), on `wasm` (tfjs-backend-wasm: XNNPACK's SIMD kernels, the fast CPU path), or on `cpu`.
 *
 * Threads: under Node, tfjs-backend-wasm 4.22 always loads its single-threaded SIMD binary (its
 * WASM_HAS_MULTITHREAD_SUPPORT flag is false whenever IS_NODE, tensorflow/tfjs#3830), so `wasm` runs on one
 * thread here and setThreadsCount changes nothing.
 *
 * Vulkan on Linux:
 * - Dawn loads the Vulkan loader `libvulkan.so.1` by name. Debian ships it as `libvulkan1`; when it is not
 *   installed, the copy that comes with Debian's chromium (/usr/lib/chromium/libvulkan.so.1) is loaded first,
 *   process-wide, so Dawn's own dlopen finds it.
 * - The driver (ICD): `vulkan: 'swiftshader'` sets VK_ICD_FILENAMES to chromium's SwiftShader
 *   (/usr/lib/chromium/vk_swiftshader_icd.json, a CPU implementation of Vulkan); `'system'` leaves the
 *   environment alone (a GPU server's own driver); `'auto'` (default) keeps a VK_ICD_FILENAMES already set,
 *   else uses the system's ICDs when /usr/share/vulkan/icd.d or /etc/vulkan/icd.d lists any, else SwiftShader.
 */
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import * as tf from '../redo/tf';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';

export type BackendName = 'webgpu' | 'wasm' | 'cpu';
export type VulkanChoice = 'auto' | 'swiftshader' | 'system';

export interface BackendInfo {
  /** The backend TF.js is on now. */
  backend: BackendName;
  /** What the GPU adapter says it is (webgpu only), e.g. "google swiftshader (SwiftShader driver 5.0.0)". */
  adapter?: string;
  /** wasm only: the threads XNNPACK runs on (always 1 under Node). */
  threads?: number;
  /** Set when webgpu was asked for and wasm (or cpu) is used instead (only with `fallback: true`). */
  fallbackReason?: string;
}

export const CHROMIUM_DIR = '/usr/lib/chromium';
export const SWIFTSHADER_ICD = `${CHROMIUM_DIR}/vk_swiftshader_icd.json`;
const SYSTEM_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'];
const RTLD_NODELETE = 0x1000; // glibc: keep the library loaded after Node closes the handle

function systemIcds(): string[] {
  return SYSTEM_ICD_DIRS.flatMap((d) => {
    try {
      return readdirSync(d)
        .filter((f) => f.endsWith('.json'))
        .map((f) => `${d}/${f}`);
    } catch {
      return [];
    }
  });
}

function hasSystemVulkanLoader(): boolean {
  return [
    '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
    '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
    '/usr/lib/libvulkan.so.1',
    '/usr/lib64/libvulkan.so.1',
  ].some((p) => existsSync(p));
}

/** Chooses the Vulkan driver and makes the loader findable. Returns which driver was chosen, in words. */
export function prepareVulkan(choice: VulkanChoice = 'auto'): string {
  if (process.platform !== 'linux') return 'platform default';
  let driver: string;
  if (choice === 'system' || (choice === 'auto' && (process.env.VK_ICD_FILENAMES || systemIcds().length > 0))) {
    driver = process.env.VK_ICD_FILENAMES ? `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}` : 'system ICDs';
  } else {
    if (!existsSync(SWIFTSHADER_ICD)) {
      throw new Error(
        `SwiftShader not found at ${SWIFTSHADER_ICD}: install Debian's chromium ` +
          '(apt-get update && apt-get install -y chromium), or use --backend cpu',
      );
    }
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    driver = 'SwiftShader (chromium)';
  }
  const chromiumLoader = `${CHROMIUM_DIR}/libvulkan.so.1`;
  if (!hasSystemVulkanLoader() && existsSync(chromiumLoader)) {
    const m = { exports: {} };
    try {
      // Not a Node addon, so Node throws "did not self-register" after dlopen; RTLD_NODELETE keeps it loaded.
      process.dlopen(m, chromiumLoader, os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE);
    } catch {
      /* expected */
    }
  }
  return driver;
}

let webgpuRegistered = false;

/**
 * Registers the webgpu backend (once per process) with Dawn's `navigator.gpu` and switches to it.
 * Throws with a clear message when no adapter can be had.
 */
async function initWebgpu(vulkan: VulkanChoice): Promise<string> {
  const driver = prepareVulkan(vulkan);
  if (!webgpuRegistered) {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const gpu = create([]);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
    webgpuRegistered = true;
  }
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const adapter = await gpu?.requestAdapter();
  if (!adapter) throw new Error(`no WebGPU adapter (Vulkan driver: ${driver}); try --backend wasm`);
  const info = adapter.info;
  const ok = await tf.setBackend('webgpu');
  if (!ok) throw new Error(`the tfjs webgpu backend failed to initialise (adapter ${info.vendor} ${info.architecture})`);
  await tf.ready();
  return `${info.vendor} ${info.architecture}${info.description ? ` (${info.description})` : ''}`.trim();
}

/** The cpu backend prints a banner recommending tfjs-node (which cannot be installed here) on its first tensor. */
export function quietCpuBanner(): void {
  const b = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (b && 'firstUse' in b) b.firstUse = false;
}

async function initWasm(): Promise<number> {
  const ok = await tf.setBackend('wasm');
  await tf.ready();
  if (!ok || tf.getBackend() !== 'wasm') throw new Error('the tfjs wasm backend failed to initialise');
  return getThreadsCount();
}

async function initCpu(): Promise<BackendInfo> {
  await tf.setBackend('cpu');
  await tf.ready();
  quietCpuBanner();
  return { backend: 'cpu' };
}

/**
 * Puts TF.js on `backend`. With `fallback: true` a webgpu failure falls back to wasm (a wasm failure to cpu) and
 * says why in `fallbackReason`; without it the failure is thrown.
 */
export async function setupBackend(backend: BackendName, opts: { vulkan?: VulkanChoice; fallback?: boolean } = {}): Promise<BackendInfo> {
  const why = (e: unknown) => (e instanceof Error ? e.message : String(e));
  if (backend === 'webgpu') {
    try {
      const adapter = await initWebgpu(opts.vulkan ?? 'auto');
      return { backend: 'webgpu', adapter };
    } catch (e) {
      if (!opts.fallback) throw e;
      const info = await setupBackend('wasm', { fallback: true });
      return { ...info, fallbackReason: info.fallbackReason ? `${why(e)}; ${info.fallbackReason}` : why(e) };
    }
  }
  if (backend === 'wasm') {
    try {
      return { backend: 'wasm', threads: await initWasm() };
    } catch (e) {
      if (!opts.fallback) throw e;
      return { ...(await initCpu()), fallbackReason: `wasm: ${why(e)}` };
    }
  }
  return initCpu();
}

/** The backend in words for logs: "wasm (XNNPACK, 1 thread)", "webgpu (adapter)", "cpu". */
export function describeBackend(info: BackendInfo): string {
  const threads = info.threads ?? 1;
  if (info.backend === 'wasm') return `wasm (XNNPACK SIMD, ${threads} thread${threads === 1 ? '' : 's'})`;
  return `${info.backend}${info.adapter ? ` (${info.adapter})` : ''}`;
}

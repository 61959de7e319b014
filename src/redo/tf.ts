/**
 * The one TF.js entry point of src/redo. The union package brings every op, gradient and chained op and
 * the cpu and webgl backends, and wasm is imported here too (all only register here: the .wasm binary loads when
 * a program picks the backend); webgpu is added by the worker / CLI that wants it.
 */
export * from '@tensorflow/tfjs';

// Strided broadcast / transpose kernels over tfjs-backend-cpu's per-element ones (src/kernels/cpuKernels.ts).
import { useFastCpuKernels } from '../kernels/cpuKernels';
useFastCpuKernels();

// The wasm backend (tfjs-backend-wasm, XNNPACK) with the kernels it needs to train (src/kernels/wasmKernels.ts).
import { useFastWasmKernels } from '../kernels/wasmKernels';
useFastWasmKernels();

// The same fused kernels as WGSL programs for the webgpu backend (src/kernels/webgpuKernels.ts; registered by name, so
// nothing of tfjs-backend-webgpu is loaded here).
import { useWebgpuFusedKernels } from '../kernels/webgpuKernels';
useWebgpuFusedKernels();

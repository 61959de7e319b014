/**
 * The one TF.js entry point of src/redo. The union package brings every op, gradient and chained op and
 * the cpu and webgl backends, and wasm is imported here too (all only register here: the .wasm binary loads when
 * a program picks the backend); webgpu is added by the worker / CLI that wants it.
 */
export * from '@tensorflow/tfjs';

// Strided broadcast / transpose kernels over tfjs-backend-cpu's per-element ones (src/redo/cpuKernels.ts).
import { useFastCpuKernels } from './cpuKernels';
useFastCpuKernels();

// The wasm backend (tfjs-backend-wasm, XNNPACK) with the kernels it needs to train (src/redo/wasmKernels.ts).
import { useFastWasmKernels } from './wasmKernels';
useFastWasmKernels();

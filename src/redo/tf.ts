/**
 * The one TF.js entry point of src/redo. The union package brings every op, gradient and chained op and
 * the cpu and webgl backends (which only register here); webgpu is added by the worker / CLI that wants it.
 */
export * from '@tensorflow/tfjs';

// Strided broadcast / transpose kernels over tfjs-backend-cpu's per-element ones (src/redo/cpuKernels.ts).
import { useFastCpuKernels } from './cpuKernels';
useFastCpuKernels();

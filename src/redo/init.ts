import type { Rng } from './random';

/**
 * torch.nn.init.orthogonal_ on a [rows, cols] matrix (torch layout, rows = output units), times `gain`.
 * torch takes the QR of a Gaussian matrix (transposed to be tall) and fixes the signs by diag(R), which is
 * the Q whose R has a positive diagonal: exactly what Gram–Schmidt produces. Written by hand because TF.js
 * has no fast QR (tf.linalg.qr issues several kernels per column); this is modified Gram–Schmidt in float64
 * over contiguous columns (Gaussian matrices are well conditioned: orthogonality to ~1e-13 without a second pass).
 * Cost 2·m·n² flops: about 11 s for the reference D's largest weight (9216×1024) in V8.
 */
export function orthogonal(rows: number, cols: number, gain: number, rng: Rng): Float32Array {
  const tall = rows >= cols;
  const m = tall ? rows : cols; // length of each vector
  const n = tall ? cols : rows; // number of orthonormal vectors
  // Gaussian matrix in torch's row-major [rows, cols]; vector j of the tall form is column j (tall) or row j (wide).
  const g = new Float64Array(rows * cols);
  for (let i = 0; i < g.length; i++) g[i] = rng.normal();
  const q = new Float64Array(m * n); // vector j at q[j*m .. j*m+m)
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < m; i++) q[j * m + i] = tall ? g[i * cols + j]! : g[j * cols + i]!;
  }
  for (let j = 0; j < n; j++) {
    const oj = j * m;
    for (let k = 0; k < j; k++) {
      const ok = k * m;
      let d = 0;
      for (let i = 0; i < m; i++) d += q[ok + i]! * q[oj + i]!;
      for (let i = 0; i < m; i++) q[oj + i]! -= d * q[ok + i]!;
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += q[oj + i]! * q[oj + i]!;
    norm = Math.sqrt(norm);
    for (let i = 0; i < m; i++) q[oj + i]! /= norm;
  }
  const out = new Float32Array(rows * cols);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < m; i++) {
      const value = gain * q[j * m + i]!;
      if (tall) out[i * cols + j] = value;
      else out[j * cols + i] = value;
    }
  }
  return out;
}

/**
 * The import graph of src/ as a gate (`npm run lint:deps`, part of `npm test`): every import points down and
 * nothing loops.
 *
 *   src/ui, src/node  (adapters: the page, the command line)
 *        ↓          ↘
 *        ↓            src/segmenter  (F in any page, bundled alone: imports src/formats, src/datagen and src/redo only)
 *   src/worker        (the studio's worker: its port, the lock, IndexedDB)
 *        ↓
 *   src/run           (the run core: no DOM, no Node APIs)
 *        ↓
 *   src/data          (datasets, ingest, IndexedDB records)
 *        ↓
 *   src/formats       (pure file formats: run archive, safetensors, zip, losses.csv, PNG)
 *        ↓
 *   src/datagen       (the synthetic data sets: colored-2-MNIST, objects on photos; pure, seeded by src/redo's Rng)
 *        ↓
 *   src/redo          (pure TF.js: the model, its training step, metrics)
 *        ↓
 *   src/kernels       (TF.js backend kernels for cpu, wasm, webgpu and the fused ops; registered by src/redo/tf.ts)
 *
 * A layer may import any layer below it (type-only imports count too); src/kernels imports only packages. Node's
 * built-in modules only in src/node.
 */
const layers = ['kernels', 'redo', 'datagen', 'formats', 'data', 'run', 'worker'];

/** `from` may not import anything above it. */
const upward = layers.map((layer, i) => ({
  name: `${layer}-imports-down`,
  comment: `src/${layer} may import only ${layers.slice(0, i + 1).join(', ')} (and packages)`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(?!(${layers.slice(0, i + 1).join('|')})/)` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import loop: one of its modules belongs below the others.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'segmenter-imports-down',
      comment:
        'src/segmenter is bundled alone for pages outside the studio: the model (src/redo), its image resampling (src/datagen) and file formats only',
      severity: 'error',
      from: { path: '^src/segmenter/' },
      to: { path: '^src/(?!(kernels|redo|datagen|formats|segmenter)/)' },
    },
    {
      name: 'ui-not-node',
      severity: 'error',
      from: { path: '^src/ui/' },
      to: { path: '^src/node/' },
    },
    {
      name: 'node-not-ui',
      severity: 'error',
      from: { path: '^src/node/' },
      to: { path: '^src/(ui/|main\\.tsx)' },
    },
    {
      name: 'node-apis-only-in-src-node',
      comment: 'Node built-ins (fs, path, child_process, …) belong to the command line adapter.',
      severity: 'error',
      from: { path: '^src/(?!node/)' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};

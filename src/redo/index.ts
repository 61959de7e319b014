/**
 * The public API of src/redo: the ReDO model, its training step, inference, metrics and weights (their file formats
 * are in src/formats).
 */
export { PRESETS, PRESET_NAMES, preset, validateConfig, type RedoConfig, type PresetName } from './config';
export { RedoModel, NETWORKS, type NetworkId } from './redo';
export { RedoTrainer, readLosses, readLossBatch, disposeLosses, LOSS_KEYS, type StepLosses, type LossValues } from './trainer';
export { NonFiniteError, assertFiniteTensors, countNonFinite, nonFiniteTensors, networkOfKey, NETWORK_NAMES } from './finite';
export { captureTrainingState, restoreTrainer, restoreTrainingState, type TrainingState } from './checkpoint';
export {
  sampleBatches,
  gatherImages,
  imageSlice,
  imageValues,
  subsetImages,
  subsetPlanes,
  spreadIndices,
  type ImageSet,
  type Planes,
} from './batches';
export { exportWeights, importWeights, WeightsMismatchError, type NamedTensorData } from './weights';
export { parameterCounts, type ParameterCounts } from './parameterCounts';
export { Rng, deriveSeed } from './random';
export { Segmenter } from './segment';
export { inferConfigFromWeights } from './weightsConfig';

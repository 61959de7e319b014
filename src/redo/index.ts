/** The public API of src/redo: the ReDO model, its training step, inference, metrics and weight files. */
export { PRESETS, PRESET_NAMES, preset, validateConfig, type RedoConfig, type PresetName } from './config';
export { RedoModel, NETWORKS, type NetworkId } from './redo';
export { RedoTrainer, readLosses, readLossBatch, disposeLosses, LOSS_KEYS, type StepLosses, type LossValues } from './trainer';
export { NonFiniteError, assertFiniteTensors, countNonFinite, nonFiniteTensors, networkOfKey, NETWORK_NAMES } from './finite';
export { captureTrainingState, restoreTrainer, restoreTrainingState, type TrainingState } from './checkpoint';
export { sampleBatches, gatherImages, type ImageSet } from './batches';
export { exportWeights, importWeights, WeightsMismatchError } from './weights';
export { encodeSafetensors, decodeSafetensors, SafetensorsError, type NamedTensorData, type SafetensorsFile } from './safetensors';
export { parameterCounts, type ParameterCounts } from './parameterCounts';
export { Rng, deriveSeed } from './random';
export { Segmenter } from './segment';
export { inferConfigFromWeights } from './weightsConfig';

import { preset, validateConfig, type RedoConfig } from './config';
import { RedoModel } from './redo';
import { importWeights, WeightsMismatchError } from './weights';
import type { NamedTensorData } from './weights';

/**
 * The configuration a bare weights file (reference state_dict names, torch layout) was made with, read off
 * its tensor names and shapes; hyper-parameters that weights do not record (batch, learning rates, λz) are
 * the paper's. Throws WeightsMismatchError naming the first tensor that does not fit any configuration.
 *
 * A file holding only F (`netEncM.*`) is enough for inference: n comes from F's output channels and the image
 * size, which F does not fix, from `imageSize` (default 128).
 */
export function inferConfigFromWeights(
  tensors: ReadonlyMap<string, NamedTensorData>,
  imageSize: RedoConfig['imageSize'] = 128,
): RedoConfig {
  const shape = (name: string): number[] => {
    const t = tensors.get(name);
    if (!t) throw new WeightsMismatchError(`missing tensor ${name}: not a ReDO weights file (reference state_dict names expected)`);
    return t.shape;
  };
  const names = [...tensors.keys()];
  const unknown = names.find((n) => !/^(netEncM|netGenX|netDX|netRecZ)\./.test(n));
  if (unknown) throw new WeightsMismatchError(`tensor ${unknown} is not under netEncM., netGenX., netDX. or netRecZ.`);

  const fOut = shape('netEncM.out.mods.9.weight')[0]!;
  const nfF = shape('netEncM.cnn.0.mods.7.weight')[0]!;
  const hasG = names.some((n) => n.startsWith('netGenX.'));
  const onlyF = !hasG && !names.some((n) => n.startsWith('netDX.') || n.startsWith('netRecZ.'));
  let config: RedoConfig;
  if (onlyF) {
    config = preset('paper-128', { imageSize, nRegions: fOut === 1 ? 2 : fOut, nfF });
  } else {
    const regions = new Set(names.filter((n) => n.startsWith('netGenX.net.')).map((n) => n.split('.')[2]));
    const nRegions = regions.size;
    if ((nRegions === 2 ? 1 : nRegions) !== fOut) {
      throw new WeightsMismatchError(
        `tensor netEncM.out.mods.9.weight has ${fOut} output channels, but the file has ${nRegions} region generators`,
      );
    }
    const [, nz] = shape('netGenX.net.0.dense.weight');
    const nfG = shape('netGenX.net.0.convOut.weight_orig')[1]! - 1;
    const gBlocks = new Set(names.filter((n) => n.startsWith('netGenX.net.0.convB.')).map((n) => n.split('.')[4])).size;
    const size = 4 * 2 ** gBlocks;
    if (size !== 32 && size !== 64 && size !== 128) {
      throw new WeightsMismatchError(
        `the generator has ${gBlocks} up-blocks (netGenX.net.0.convB.*), which fits no image size (32, 64, 128)`,
      );
    }
    const attentionD = tensors.has('netDX.selfAtt.gamma');
    const nfD = shape(attentionD ? 'netDX.bloc0.0.weight_orig' : 'netDX.blocs.0.0.weight_orig')[0]!;
    const nfZ = shape('netRecZ.net.blocs.0.0.weight_orig')[0]!;
    config = preset('paper-128', {
      imageSize: size,
      nRegions,
      nz: nz!,
      nfF,
      nfG,
      nfD,
      nfZ,
      attentionG: tensors.has('netGenX.net.0.selfAtt.gamma'),
      attentionD,
    });
  }
  validateConfig(config);
  // Every name and shape must then fit the configuration exactly: the importer names the first that does not.
  const probe = new RedoModel(config, 0, { uninitialised: true });
  try {
    importWeights(probe, tensors, onlyF ? { prefix: 'netEncM.' } : {});
  } finally {
    probe.dispose();
  }
  return config;
}

import * as tf from './tf';

/** Generator adversarial term: −mean D(composites). */
export function generatorAdversarialLoss(dFake: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(dFake)) as tf.Scalar;
}

/** z-reconstruction term: mean((z − δ(Σ regions))²), before the λz weight. */
export function zReconstructionLoss(z: tf.Tensor, zRec: tf.Tensor): tf.Scalar {
  return tf.mean(tf.square(tf.sub(z, zRec)));
}

/** Discriminator hinge terms: mean relu(1 − D(real)) and mean relu(1 + D(fake)). */
export function hingeLossReal(dReal: tf.Tensor): tf.Scalar {
  return tf.mean(tf.relu(tf.sub(1, dReal)));
}

export function hingeLossFake(dFake: tf.Tensor): tf.Scalar {
  return tf.mean(tf.relu(tf.add(1, dFake)));
}

/** The smallest mean area of a region over the batch: what the collapse watch looks at. masks [B, S, S, n]. */
export function smallestRegionArea(masks: tf.Tensor4D): tf.Scalar {
  return tf.min(tf.mean(masks, [0, 1, 2]));
}

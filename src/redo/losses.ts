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

/** The smallest mean (soft) area of a region over the batch, for the collapse watch. masks [B, S, S, n]. */
export function smallestRegionArea(masks: tf.Tensor4D): tf.Scalar {
  return tf.min(tf.mean(masks, [0, 1, 2]));
}

/**
 * The smallest binarised area of a region over the batch, for the collapse watch: the fraction of the batch's
 * pixels each region owns (its mask is the largest there; ties go to the first region), the smallest over the
 * regions. For n = 2 (masks [m, 1 − m]) this is exactly the authors' train.py reading
 * `min((m >= .5).mean(), (m < .5).mean())`; unlike the soft area it sees "every mask value just under 0.5".
 * For n > 2, `mask ≥ 0.5` would leave pixels to no region (every region starts near 1/n), so ownership it is.
 */
export function smallestBinaryRegionArea(masks: tf.Tensor4D): tf.Scalar {
  // Ownership as float32 through where(), not cast(bool): tfjs-backend-webgpu 4.22 hands a cast-from-bool tensor to
  // the Transpose of a leading-axes mean as int32, whose shader does not compile (the command buffer is dropped).
  return tf.tidy(() => {
    const n = masks.shape[3];
    const owner = tf.cast(tf.argMax(masks, 3), 'float32').expandDims(3); // [B, H, W, 1]; ties: the first region
    const owns = tf.where(tf.equal(owner, tf.range(0, n, 1, 'float32').reshape([1, 1, 1, n])), tf.onesLike(masks), tf.zerosLike(masks));
    return tf.min(tf.mean(owns, [0, 1, 2]));
  });
}

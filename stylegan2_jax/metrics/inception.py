"""pytorch-fid's FID Inception-v3 (``pytorch_fid.inception.InceptionV3``, 0.3.0) in Flax Linen.

The network is torchvision's ``Inception3`` (1008 classes, no aux logits) with the
FID blocks of pytorch-fid: the pool branch of Mixed_5b-5d, 6b-6e and 7b is a 3x3
stride-1 average pool that does not count the padding, and Mixed_7c's is a 3x3
stride-1 *max* pool; Mixed_6a/7a are torchvision's. ``BasicConv2d`` is conv (no
bias) -> BatchNorm(eps 0.001, running statistics) -> ReLU.

The input transform is the wrapper's (``resize_input=True, normalize_input=True``):
uint8 -> ``/ 255`` -> bilinear resize to 299x299 as ``F.interpolate(...,
align_corners=False)`` (no antialiasing) -> ``2 x - 1``. pool3 (2048 features)
is what FID uses. Images enter NHWC (uint8 as decoded, or float in [0, 1]);
activations are NHWC. Weights come from the user's file (:func:`load_inception`);
nothing is downloaded.
"""

from __future__ import annotations

import functools
import pathlib
from typing import Mapping, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from stylegan2_jax.metrics.weights_file import read_state_dict

FID_WEIGHTS_URL = ('https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/'
                   'pt_inception-2015-12-05-6726825d.pth')
INPUT_SIZE = 299      # side of the network input, pixels
BN_EPS = 1e-3         # BatchNorm epsilon of torchvision's BasicConv2d
NUM_CLASSES = 1008    # fc outputs of the 2015-12-05 Inception graph
OUTPUTS = ('pool3', 'logits', 'block0', 'block1', 'block2')  # what InceptionV3 can return
STAGES = ('Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'maxpool1', 'Conv2d_3b_1x1', 'Conv2d_4a_3x3',
          'maxpool2', 'Mixed_5b', 'Mixed_5c', 'Mixed_5d', 'Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d',
          'Mixed_6e', 'Mixed_7a', 'Mixed_7b', 'Mixed_7c')  # top-level outputs, sown as '<stage>_out'
WEIGHTS_HELP = (f'FID needs the pytorch-fid Inception-v3 weights: download {FID_WEIGHTS_URL} (read without '
                'torch), or give an .npz of the same state_dict, and pass the file with --inception.')
HIGHEST = jax.lax.Precision.HIGHEST


# Input transform. -------------------------------------------------------------------------------------------------

def _bilinear_taps(in_size: int, out_size: int):
  """Source indices and weights of torch's bilinear ``align_corners=False`` along one axis.

  float32 as torch's CPU kernel: ``src = max(scale * (dst + 0.5) - 0.5, 0)`` with
  ``scale = in / out``, rounded once as its fused multiply-add (the product of two
  float32 is exact in float64); ``lambda = src - floor(src)``.
  """
  f32 = np.float32
  scale = f32(in_size) / f32(out_size)
  dst = np.arange(out_size, dtype=f32) + f32(0.5)
  src = (np.float64(scale) * dst.astype(np.float64) - 0.5).astype(f32)
  src = np.maximum(src, f32(0))                      # torch clamps negative source coordinates to 0
  i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
  lam = np.clip(src - i0.astype(f32), f32(0), f32(1)).astype(f32)
  i1 = np.minimum(i0 + 1, in_size - 1)
  return i0, i1, (f32(1) - lam).astype(f32), lam


def resize_bilinear(x: jnp.ndarray, size: int = INPUT_SIZE) -> jnp.ndarray:
  """``F.interpolate(x, (size, size), mode='bilinear', align_corners=False)`` (no antialias) on NHWC float.

  Interpolates along W, then H, with torch's float32 source coordinates, in the
  order of torch's CPU kernel; an input already ``size`` x ``size`` is returned as
  is (torch's result is then exactly the input).
  """
  _, h, w, _ = x.shape
  if w != size:
    i0, i1, l0, l1 = _bilinear_taps(w, size)
    x = x[:, :, i0] * l0[:, None] + x[:, :, i1] * l1[:, None]
  if h != size:
    i0, i1, l0, l1 = _bilinear_taps(h, size)
    x = x[:, i0] * l0[:, None, None] + x[:, i1] * l1[:, None, None]
  return x


def fid_preprocess(images: jnp.ndarray, size: int = INPUT_SIZE) -> jnp.ndarray:
  """Images -> network input: uint8 NHWC (or float NHWC in [0, 1]) -> float32 NHWC in [-1, 1] at 299x299."""
  images = jnp.asarray(images)
  if images.ndim != 4 or images.shape[-1] != 3:
    raise ValueError(f'expected NHWC RGB images [N, H, W, 3], got shape {images.shape}')
  if images.dtype == jnp.uint8:  # u8 / 255 correctly rounded (XLA's division by a constant is not, by 1 ulp)
    x = jnp.asarray(np.arange(256, dtype=np.float32) / np.float32(255))[images]
  else:
    x = images.astype(jnp.float32)
  return 2 * resize_bilinear(x, size) - 1


# The network. -----------------------------------------------------------------------------------------------------

def _pair(v) -> tuple[int, int]:
  return (v, v) if isinstance(v, int) else tuple(v)


class BasicConv2d(nn.Module):
  """torchvision ``BasicConv2d``: conv (no bias) -> BatchNorm(eps 0.001, running stats) -> ReLU."""
  features: int
  kernel_size: tuple[int, int]
  stride: int = 1
  padding: tuple[int, int] = (0, 0)  # torch padding (rows, columns), applied on both sides

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    ph, pw = self.padding
    x = nn.Conv(self.features, self.kernel_size, strides=self.stride, padding=((ph, ph), (pw, pw)),
                use_bias=False, precision=HIGHEST, name='conv')(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=BN_EPS, name='bn')(x)
    return nn.relu(x)


def _conv(x, name, features, kernel, stride=1, padding=0):
  """A named BasicConv2d child of the module being built (call inside a compact method)."""
  return BasicConv2d(features, _pair(kernel), stride, _pair(padding), name=name)(x)


def _avg_pool_3x3(x):
  """``avg_pool2d(3, stride 1, padding 1, count_include_pad=False)`` (the FID blocks' pool branch)."""
  return nn.avg_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool_3x3(x, stride):
  """``max_pool2d(3, stride)``, padded by 1 when stride 1 (Mixed_7c) and unpadded when stride 2."""
  pad = 1 if stride == 1 else 0
  return nn.max_pool(x, (3, 3), strides=(stride, stride), padding=((pad, pad), (pad, pad)))


class InceptionA(nn.Module):
  """Mixed_5b/5c/5d (``FIDInceptionA``): 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avg-pool-1x1."""
  pool_features: int

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    b1 = _conv(x, 'branch1x1', 64, 1)
    b5 = _conv(_conv(x, 'branch5x5_1', 48, 1), 'branch5x5_2', 64, 5, padding=2)
    bd = _conv(x, 'branch3x3dbl_1', 64, 1)
    bd = _conv(_conv(bd, 'branch3x3dbl_2', 96, 3, padding=1), 'branch3x3dbl_3', 96, 3, padding=1)
    bp = _conv(_avg_pool_3x3(x), 'branch_pool', self.pool_features, 1)
    return jnp.concatenate([b1, b5, bd, bp], axis=-1)


class InceptionB(nn.Module):
  """Mixed_6a (torchvision ``InceptionB``): 3x3/2 | 1x1-3x3-3x3/2 | max-pool/2."""

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    b3 = _conv(x, 'branch3x3', 384, 3, stride=2)
    bd = _conv(x, 'branch3x3dbl_1', 64, 1)
    bd = _conv(_conv(bd, 'branch3x3dbl_2', 96, 3, padding=1), 'branch3x3dbl_3', 96, 3, stride=2)
    return jnp.concatenate([b3, bd, _max_pool_3x3(x, 2)], axis=-1)


class InceptionC(nn.Module):
  """Mixed_6b-6e (``FIDInceptionC``): 1x1 | 1x1-1x7-7x1 | 1x1-7x1-1x7-7x1-1x7 | avg-pool-1x1."""
  channels_7x7: int

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    c7 = self.channels_7x7
    b1 = _conv(x, 'branch1x1', 192, 1)
    b7 = _conv(x, 'branch7x7_1', c7, 1)
    b7 = _conv(b7, 'branch7x7_2', c7, (1, 7), padding=(0, 3))
    b7 = _conv(b7, 'branch7x7_3', 192, (7, 1), padding=(3, 0))
    bd = _conv(x, 'branch7x7dbl_1', c7, 1)
    bd = _conv(bd, 'branch7x7dbl_2', c7, (7, 1), padding=(3, 0))
    bd = _conv(bd, 'branch7x7dbl_3', c7, (1, 7), padding=(0, 3))
    bd = _conv(bd, 'branch7x7dbl_4', c7, (7, 1), padding=(3, 0))
    bd = _conv(bd, 'branch7x7dbl_5', 192, (1, 7), padding=(0, 3))
    bp = _conv(_avg_pool_3x3(x), 'branch_pool', 192, 1)
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
  """Mixed_7a (torchvision ``InceptionD``): 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | max-pool/2."""

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    b3 = _conv(_conv(x, 'branch3x3_1', 192, 1), 'branch3x3_2', 320, 3, stride=2)
    b7 = _conv(x, 'branch7x7x3_1', 192, 1)
    b7 = _conv(b7, 'branch7x7x3_2', 192, (1, 7), padding=(0, 3))
    b7 = _conv(b7, 'branch7x7x3_3', 192, (7, 1), padding=(3, 0))
    b7 = _conv(b7, 'branch7x7x3_4', 192, 3, stride=2)
    return jnp.concatenate([b3, b7, _max_pool_3x3(x, 2)], axis=-1)


class InceptionE(nn.Module):
  """Mixed_7b (``FIDInceptionE_1``, avg pool) / Mixed_7c (``FIDInceptionE_2``, max pool)."""
  pool: str  # 'avg' (Mixed_7b) or 'max' (Mixed_7c): the pool before the branch_pool 1x1 conv

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    b1 = _conv(x, 'branch1x1', 320, 1)
    b3 = _conv(x, 'branch3x3_1', 384, 1)
    b3 = jnp.concatenate([_conv(b3, 'branch3x3_2a', 384, (1, 3), padding=(0, 1)),
                          _conv(b3, 'branch3x3_2b', 384, (3, 1), padding=(1, 0))], axis=-1)
    bd = _conv(_conv(x, 'branch3x3dbl_1', 448, 1), 'branch3x3dbl_2', 384, 3, padding=1)
    bd = jnp.concatenate([_conv(bd, 'branch3x3dbl_3a', 384, (1, 3), padding=(0, 1)),
                          _conv(bd, 'branch3x3dbl_3b', 384, (3, 1), padding=(1, 0))], axis=-1)
    pooled = _avg_pool_3x3(x) if self.pool == 'avg' else _max_pool_3x3(x, 1)
    bp = _conv(pooled, 'branch_pool', 192, 1)
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class InceptionV3(nn.Module):
  """pytorch-fid's FID Inception-v3: images -> pool3 features [N, 2048].

  ``images``: uint8 NHWC of any size, or float NHWC in [0, 1]; with
  ``preprocess=False``, the network input itself (NHWC float in [-1, 1], 299x299).
  ``outputs=None`` returns pool3; a sequence of names from :data:`OUTPUTS` returns
  a dict: ``pool3`` [N, 2048], ``logits`` [N, 1008] (``fc(pool3)``, not part of the
  FID wrapper), ``block0/1/2`` (the wrapper's 64/192/768-channel taps, NHWC). Each
  top-level stage output (:data:`STAGES`) is sown to ``'intermediates'`` as ``<stage>_out``.
  """

  @nn.compact
  def __call__(self, images: jnp.ndarray, outputs: Sequence[str] | None = None,
               preprocess: bool = True):
    unknown = set(outputs or ()) - set(OUTPUTS)
    if unknown:
      raise ValueError(f'unknown outputs {sorted(unknown)}; choose from {OUTPUTS}')
    x = fid_preprocess(images) if preprocess else jnp.asarray(images, jnp.float32)
    stages = [
        lambda y: _conv(y, 'Conv2d_1a_3x3', 32, 3, stride=2),
        lambda y: _conv(y, 'Conv2d_2a_3x3', 32, 3),
        lambda y: _conv(y, 'Conv2d_2b_3x3', 64, 3, padding=1),
        lambda y: _max_pool_3x3(y, 2),
        lambda y: _conv(y, 'Conv2d_3b_1x1', 80, 1),
        lambda y: _conv(y, 'Conv2d_4a_3x3', 192, 3),
        lambda y: _max_pool_3x3(y, 2),
        InceptionA(32, name='Mixed_5b'), InceptionA(64, name='Mixed_5c'), InceptionA(64, name='Mixed_5d'),
        InceptionB(name='Mixed_6a'),
        InceptionC(128, name='Mixed_6b'), InceptionC(160, name='Mixed_6c'), InceptionC(160, name='Mixed_6d'),
        InceptionC(192, name='Mixed_6e'),
        InceptionD(name='Mixed_7a'), InceptionE('avg', name='Mixed_7b'), InceptionE('max', name='Mixed_7c'),
    ]
    taps = {}
    for name, stage in zip(STAGES, stages):
      x = stage(x)
      self.sow('intermediates', f'{name}_out', x)
      taps[{'maxpool1': 'block0', 'maxpool2': 'block1', 'Mixed_6e': 'block2'}.get(name, name)] = x
    taps['pool3'] = jnp.mean(x, axis=(1, 2))  # AdaptiveAvgPool2d(1)
    if self.is_initializing() or 'logits' in (outputs or ()):
      taps['logits'] = nn.Dense(NUM_CLASSES, precision=HIGHEST, name='fc')(taps['pool3'])
    return taps['pool3'] if outputs is None else {k: taps[k] for k in outputs}


def init_inception(rng: jax.Array) -> dict:
  """Randomly initialized variables of :class:`InceptionV3` (``params`` and ``batch_stats``), e.g. for tests."""
  return InceptionV3().init(rng, jnp.zeros((1, 75, 75, 3), jnp.float32), preprocess=False)


# Weights. ---------------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _abstract_variables() -> dict:
  return jax.eval_shape(init_inception, jax.random.key(0))


_TORCH_LEAF = {'kernel': 'weight', 'scale': 'weight', 'bias': 'bias', 'mean': 'running_mean', 'var': 'running_var'}


def inception_variables_from_state_dict(sd: Mapping[str, np.ndarray]) -> dict:
  """Flax variables of :class:`InceptionV3` from pytorch-fid's ``state_dict`` (numpy arrays).

  Conv weights go OIHW -> HWIO and ``fc.weight`` is transposed; every entry is cast
  to float32 (the fixture stores fp16 weights). ``num_batches_tracked`` is optional
  and ignored. Raises ``KeyError`` naming missing entries, ``ValueError`` on
  unexpected entries or shapes.
  """
  abstract = _abstract_variables()
  flat, used = {}, set()
  missing = []
  for path, leaf in traverse_util.flatten_dict(abstract).items():
    key = '.'.join((*path[1:-1], _TORCH_LEAF[path[-1]]))
    if key not in sd:
      missing.append(key)
      continue
    value = np.asarray(sd[key], np.float32)
    if path[-1] == 'kernel':
      value = value.transpose(2, 3, 1, 0) if value.ndim == 4 else value.T
    if value.shape != leaf.shape:
      raise ValueError(f'Inception weight {key} has shape {np.shape(sd[key])}, expected the torch layout of '
                       f'{leaf.shape}. {WEIGHTS_HELP}')
    flat[path] = jnp.asarray(value)
    used.add(key)
  if missing:
    raise KeyError(f'Inception weights lack {len(missing)} entries: {", ".join(missing[:5])}'
                   f'{", ..." if len(missing) > 5 else ""}. {WEIGHTS_HELP}')
  unexpected = sorted(k for k in sd if k not in used and not k.endswith('.num_batches_tracked'))
  if unexpected:
    raise ValueError(f'Inception weights have {len(unexpected)} unexpected entries: {", ".join(unexpected[:5])}'
                     f'{", ..." if len(unexpected) > 5 else ""}. {WEIGHTS_HELP}')
  return traverse_util.unflatten_dict(flat)


def load_inception(path: str | pathlib.Path) -> dict:
  """Inception variables from the user's weights: pytorch-fid's ``.pth`` (read without torch or code) or an ``.npz``.

  An ``.npz`` holds the state_dict entries under their names (keys without a dot,
  such as the reference fixture's data, are skipped).
  """
  sd = read_state_dict(path, WEIGHTS_HELP)
  return inception_variables_from_state_dict(sd)


# Batched features. ------------------------------------------------------------------------------------------------

_preprocess_jit = jax.jit(fid_preprocess)
_pool3_jit = jax.jit(lambda variables, x: InceptionV3().apply(variables, x, preprocess=False))


def inception_features(variables: dict, images_uint8_nhwc: np.ndarray, batch_size: int = 64) -> np.ndarray:
  """pool3 features [N, 2048] (float32 numpy) of uint8 NHWC images of any size, jitted, in batches.

  The resize compiles once per image size and the network once per batch size (a
  short last batch is padded), so many sizes share one compiled network.
  """
  images = np.asarray(images_uint8_nhwc)
  n = images.shape[0]
  if n == 0:
    return np.zeros((0, 2048), np.float32)
  batch = min(batch_size, n)
  features = []
  for start in range(0, n, batch):
    chunk = images[start:start + batch]
    real = chunk.shape[0]
    if real < batch:
      chunk = np.concatenate([chunk, np.zeros((batch - real, *chunk.shape[1:]), chunk.dtype)])
    features.append(np.asarray(_pool3_jit(variables, _preprocess_jit(chunk)))[:real])
  return np.concatenate(features)

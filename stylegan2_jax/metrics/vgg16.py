"""torchvision's VGG16 in Flax: the convolutional trunk (LPIPS taps) and the fc7 embedding of precision/recall.

The trunk is ``torchvision.models.vgg16().features``: thirteen 3x3 convolutions
(pad 1, bias, ReLU) with 2x2 max-pools between the blocks. LPIPS reads the ReLU
outputs relu1_2 ... relu5_3 (:class:`VGG16Features`). Precision and recall
(Kynkaanniemi et al. 2019) embed images with the second fully connected layer,
fc7 after its ReLU, 4096 features (:class:`VGG16Embedding`).

The embedding's input transform is torchvision's ImageNet one: uint8 -> ``/ 255``,
an area resize to 224x224 (``F.interpolate(mode='area')``, i.e. adaptive average
pooling, as NVIDIA's metric VGG16 does), then ``(x - mean) / std``. NVIDIA's own
``vgg16.pt`` is a TorchScript port of the paper's TensorFlow VGG16 that cannot be
read without executing its code; with torchvision's ImageNet weights the
precision/recall values follow the same protocol but are not bit-identical to
the published ones. Weights come from the user's file; nothing is downloaded.
"""

from __future__ import annotations

import functools
import pathlib
from typing import Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from stylegan2_jax.metrics.weights_file import read_state_dict

# (name, torchvision features index, output channels); a 2x2 max-pool precedes the first conv of blocks 2-5.
VGG16_CONVS = (
    ('conv1_1', 0, 64), ('conv1_2', 2, 64),
    ('conv2_1', 5, 128), ('conv2_2', 7, 128),
    ('conv3_1', 10, 256), ('conv3_2', 12, 256), ('conv3_3', 14, 256),
    ('conv4_1', 17, 512), ('conv4_2', 19, 512), ('conv4_3', 21, 512),
    ('conv5_1', 24, 512), ('conv5_2', 26, 512), ('conv5_3', 28, 512),
)
TAPS = ('conv1_2', 'conv2_2', 'conv3_3', 'conv4_3', 'conv5_3')  # LPIPS reads the ReLU after these
POOL_BEFORE = ('conv2_1', 'conv3_1', 'conv4_1', 'conv5_1')
FC_LAYERS = (('fc6', 0, 4096), ('fc7', 3, 4096))  # (name, torchvision classifier index, outputs)
EMBEDDING_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
VGG16_WEIGHTS_URL = 'https://download.pytorch.org/models/vgg16-397923af.pth'
WEIGHTS_HELP = (f'precision/recall needs torchvision\'s ImageNet VGG16: download {VGG16_WEIGHTS_URL} (read without '
                'torch), or give an .npz of the same state_dict (features.*, classifier.*), and pass the file with '
                '--vgg16.')
HIGHEST = jax.lax.Precision.HIGHEST


class VGG16Features(nn.Module):
  """torchvision VGG16 ``features`` up to relu5_3; returns the five LPIPS taps (NHWC)."""

  @nn.compact
  def __call__(self, x_nhwc: jnp.ndarray) -> list[jnp.ndarray]:
    taps = []
    for name, _, channels in VGG16_CONVS:
      if name in POOL_BEFORE:
        x_nhwc = nn.max_pool(x_nhwc, (2, 2), strides=(2, 2))
      x_nhwc = nn.relu(nn.Conv(channels, (3, 3), padding=1, name=name, precision=HIGHEST)(x_nhwc))
      if name in TAPS:
        taps.append(x_nhwc)
    return taps


@functools.lru_cache(maxsize=None)
def area_matrix(in_size: int, out_size: int) -> np.ndarray:
  """[out, in] weights of ``F.interpolate(mode='area')`` (adaptive average pooling) along one axis."""
  m = np.zeros((out_size, in_size), np.float32)
  for i in range(out_size):
    start, end = (i * in_size) // out_size, -((-(i + 1) * in_size) // out_size)
    m[i, start:end] = 1.0 / (end - start)
  return m


def area_resize(x_nhwc: jnp.ndarray, size: int) -> jnp.ndarray:
  """Area (adaptive average) resize of NHWC images to ``size`` x ``size``."""
  rows = jnp.asarray(area_matrix(x_nhwc.shape[1], size))
  cols = jnp.asarray(area_matrix(x_nhwc.shape[2], size))
  return jnp.einsum('ih,nhwc,jw->nijc', rows, x_nhwc, cols, precision=HIGHEST)


def embedding_preprocess(images: jnp.ndarray) -> jnp.ndarray:
  """uint8 (or [0, 255] float) NHWC RGB -> the normalized 224x224 NHWC network input."""
  x = area_resize(images.astype(jnp.float32) / 255, EMBEDDING_SIZE)
  return (x - jnp.asarray(IMAGENET_MEAN)) / jnp.asarray(IMAGENET_STD)


class VGG16Embedding(nn.Module):
  """fc7 features (after ReLU, 4096) of uint8 NHWC RGB images of any size: the precision/recall embedding."""

  @nn.compact
  def __call__(self, images: jnp.ndarray) -> jnp.ndarray:
    x = VGG16Features(name='vgg')(embedding_preprocess(images))[-1]
    x = nn.max_pool(x, (2, 2), strides=(2, 2))  # features.30; the 7x7 adaptive pool is then the identity
    x = x.transpose(0, 3, 1, 2).reshape(x.shape[0], -1)  # torch flattens C, H, W
    for name, _, width in FC_LAYERS:
      x = nn.relu(nn.Dense(width, name=name, precision=HIGHEST)(x))
    return x


def init_vgg16_embedding(rng: jax.Array) -> dict:
  """Random VGG16 embedding variables (for tests; real metrics load weights with :func:`load_vgg16`)."""
  return VGG16Embedding().init(rng, jnp.zeros((1, EMBEDDING_SIZE, EMBEDDING_SIZE, 3), jnp.uint8))


def trunk_variables_from_state_dict(sd: Mapping[str, np.ndarray], prefixes: tuple[str, ...], help_text: str) -> dict:
  """The :class:`VGG16Features` parameters from torch conv entries ``{prefix}{index}.weight/bias``.

  ``prefixes`` maps a block number (1-5) to the key prefix: one entry for all blocks
  (torchvision ``features.``) or a ``{block}`` format (lpips ``net.slice{block}.``).
  """
  def get(index: int, block: int, leaf: str) -> np.ndarray:
    names = [p.format(block=block) + f'{index}.{leaf}' for p in prefixes]
    for name in names:
      if name in sd:
        return np.asarray(sd[name], np.float32)
    raise KeyError(f'VGG16 weights lack {names[0]}. {help_text}')

  params = {}
  for name, index, channels in VGG16_CONVS:
    kernel = get(index, int(name[4]), 'weight')
    if kernel.ndim != 4 or kernel.shape[0] != channels:
      raise ValueError(f'VGG16 weight of {name} has shape {kernel.shape}, expected ({channels}, C, 3, 3). {help_text}')
    params[name] = dict(kernel=jnp.asarray(kernel.transpose(2, 3, 1, 0)),
                        bias=jnp.asarray(get(index, int(name[4]), 'bias')))
  return params


def vgg16_embedding_from_state_dict(sd: Mapping[str, np.ndarray]) -> dict:
  """:class:`VGG16Embedding` variables from torchvision's ``vgg16`` state_dict (numpy arrays)."""
  params = {'vgg': trunk_variables_from_state_dict(sd, ('features.',), WEIGHTS_HELP)}
  for name, index, width in FC_LAYERS:
    key = f'classifier.{index}'
    if f'{key}.weight' not in sd or f'{key}.bias' not in sd:
      raise KeyError(f'VGG16 weights lack {key}.weight/bias. {WEIGHTS_HELP}')
    weight = np.asarray(sd[f'{key}.weight'], np.float32)
    if weight.shape[0] != width:
      raise ValueError(f'VGG16 weight {key}.weight has shape {weight.shape}, expected ({width}, ...). {WEIGHTS_HELP}')
    params[name] = dict(kernel=jnp.asarray(weight.T), bias=jnp.asarray(np.asarray(sd[f'{key}.bias'], np.float32)))
  return {'params': params}


def load_vgg16(path: str | pathlib.Path) -> dict:
  """:class:`VGG16Embedding` variables from torchvision's ``vgg16-397923af.pth`` or an ``.npz`` of it."""
  return vgg16_embedding_from_state_dict(read_state_dict(path, WEIGHTS_HELP))

"""LPIPS (Zhang et al. 2018, ``lpips`` 0.1.4, ``net='vgg'``, version 0.1) in Flax: VGG16 taps + learned linear heads.

    d(x0, x1) = sum_l mean_hw( conv1x1_l( (n(f_l(x0)) - n(f_l(x1)))^2 ) ),  n(f) = f / (sqrt(sum_c f^2) + 1e-10)

where ``f_l`` are the ReLU outputs relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 of
torchvision's VGG16 on ``(x - shift) / scale``, inputs in [-1, 1] NCHW. The
projector minimises it and PPL/precision-recall use the same trunk. Weights come
from the user's files (see :func:`load_lpips`); nothing is downloaded.
"""

from __future__ import annotations

import pathlib
from typing import Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

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
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
WEIGHTS_HELP = ('LPIPS needs VGG16 weights and the LPIPS v0.1 linear heads: an .npz of the lpips.LPIPS(net="vgg") '
                'state_dict (keys net.slice*.*, lin*.model.1.weight), made once with torch: '
                '`import lpips, numpy as np; m = lpips.LPIPS(net="vgg"); '
                'np.savez("lpips_vgg.npz", **{k: v.numpy() for k, v in m.state_dict().items()})`. '
                'Pass it with --lpips.')


class VGG16Features(nn.Module):
  """torchvision VGG16 ``features`` up to relu5_3; returns the five LPIPS taps (NHWC)."""

  @nn.compact
  def __call__(self, x_nhwc: jnp.ndarray) -> list[jnp.ndarray]:
    taps = []
    for name, _, channels in VGG16_CONVS:
      if name in POOL_BEFORE:
        x_nhwc = nn.max_pool(x_nhwc, (2, 2), strides=(2, 2))
      x_nhwc = nn.relu(nn.Conv(channels, (3, 3), padding=1, name=name, precision=jax.lax.Precision.HIGHEST)(x_nhwc))
      if name in TAPS:
        taps.append(x_nhwc)
    return taps


def normalize_channels(f: jnp.ndarray) -> jnp.ndarray:
  """``f / (||f||_channels + 1e-10)`` per pixel (lpips ``normalize_tensor``; the eps is outside the sqrt)."""
  return f / (jnp.sqrt(jnp.sum(f * f, axis=-1, keepdims=True)) + 1e-10)


class LPIPS(nn.Module):
  """LPIPS distance between two NCHW batches in [-1, 1]; ``per_layer=True`` also returns the 5 layer terms."""

  @nn.compact
  def __call__(self, x0: jnp.ndarray, x1: jnp.ndarray, per_layer: bool = False):
    shift = jnp.asarray(LPIPS_SHIFT, jnp.float32).reshape(1, 1, 1, 3)
    scale = jnp.asarray(LPIPS_SCALE, jnp.float32).reshape(1, 1, 1, 3)
    vgg = VGG16Features(name='vgg')
    both = jnp.concatenate([x0, x1]).transpose(0, 2, 3, 1)
    taps = vgg((both - shift) / scale)
    n = x0.shape[0]
    layers = []
    for i, f in enumerate(taps):
      diff = (normalize_channels(f[:n]) - normalize_channels(f[n:])) ** 2
      weight = self.param(f'lin{i}', nn.initializers.constant(1 / f.shape[-1]), (f.shape[-1],))
      layers.append(jnp.mean(jnp.einsum('nhwc,c->nhw', diff, weight, precision=jax.lax.Precision.HIGHEST),
                             axis=(1, 2)))
    layers = jnp.stack(layers, axis=1)
    dist = jnp.sum(layers, axis=1)
    return (dist, layers) if per_layer else dist


def lpips_variables_from_state_dict(sd: Mapping[str, np.ndarray]) -> dict:
  """Flax variables of :class:`LPIPS` from an lpips ``state_dict`` (or torchvision vgg16 ``features.*`` + ``lin*``)."""
  def get(*names):
    for name in names:
      if name in sd:
        return np.asarray(sd[name], np.float32)
    raise KeyError(f'LPIPS weights lack {names[0]}. {WEIGHTS_HELP}')

  vgg = {}
  for name, index, _ in VGG16_CONVS:
    block = int(name[4])
    w = get(f'net.slice{block}.{index}.weight', f'features.{index}.weight')
    vgg[name] = dict(kernel=jnp.asarray(w.transpose(2, 3, 1, 0)),
                     bias=jnp.asarray(get(f'net.slice{block}.{index}.bias', f'features.{index}.bias')))
  params = dict(vgg=vgg)
  for i in range(5):
    params[f'lin{i}'] = jnp.asarray(get(f'lin{i}.model.1.weight', f'lins.{i}.model.1.weight').reshape(-1))
  return {'params': params}


def load_lpips(path: str | pathlib.Path) -> dict:
  """LPIPS variables from a user-given ``.npz`` of the lpips state_dict (see ``WEIGHTS_HELP``)."""
  path = pathlib.Path(path).expanduser()
  if not path.exists():
    raise FileNotFoundError(f'LPIPS weights file {path} not found. {WEIGHTS_HELP}')
  if path.suffix != '.npz':
    raise ValueError(f'{path}: LPIPS weights are read from an .npz. {WEIGHTS_HELP}')
  with np.load(path, allow_pickle=False) as data:
    return lpips_variables_from_state_dict({k: data[k] for k in data.files})

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

from stylegan2_jax.metrics.vgg16 import VGG16Features, trunk_variables_from_state_dict
from stylegan2_jax.metrics.weights_file import read_state_dict

LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
WEIGHTS_HELP = ('LPIPS needs VGG16 weights and the LPIPS v0.1 linear heads: either the heads file that ships in the '
                'lpips package (lpips/weights/v0.1/vgg.pth, or github.com/richzhang/PerceptualSimilarity) with --lpips '
                'plus torchvision\'s vgg16-397923af.pth with --vgg16, or one .npz of the lpips.LPIPS(net="vgg") '
                'state_dict with --lpips, made once with torch: `import lpips, numpy as np; m = lpips.LPIPS(net="vgg"); '
                'np.savez("lpips_vgg.npz", **{k: v.numpy() for k, v in m.state_dict().items()})`.')


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
  params = dict(vgg=trunk_variables_from_state_dict(sd, ('net.slice{block}.', 'features.'), WEIGHTS_HELP))
  for i in range(5):
    names = (f'lin{i}.model.1.weight', f'lins.{i}.model.1.weight')
    found = [name for name in names if name in sd]
    if not found:
      raise KeyError(f'LPIPS weights lack {names[0]}. {WEIGHTS_HELP}')
    params[f'lin{i}'] = jnp.asarray(np.asarray(sd[found[0]], np.float32).reshape(-1))
  return {'params': params}


def load_lpips(path: str | pathlib.Path, vgg16_path: str | pathlib.Path | None = None) -> dict:
  """LPIPS variables from the user's files (``WEIGHTS_HELP``): a full lpips state_dict (``.npz`` or ``.pth``), or
  the lpips heads file plus torchvision's VGG16 state_dict (``vgg16_path``) for the trunk."""
  sd = read_state_dict(path, WEIGHTS_HELP)
  if vgg16_path and not any(k.startswith(('net.slice', 'features.')) for k in sd):
    sd.update({k: v for k, v in read_state_dict(vgg16_path, WEIGHTS_HELP).items() if k.startswith('features.')})
  return lpips_variables_from_state_dict(sd)

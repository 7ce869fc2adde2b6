"""StyleGAN2 generator: mapping network + synthesis network (official ``training/networks.py``).

Constructor arguments mirror the official ones one-to-one, so an official
``init_kwargs`` dict builds the same network (see ``networks/config.py``).
Images are NCHW float32 at the module boundary, as in the official code;
activations are NHWC inside.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax.core import FrozenDict

from stylegan2_jax.networks.layers import (Conv2dLayer, FullyConnectedLayer, SynthesisLayer, ToRGBLayer,
                                           normalize_2nd_moment)
from stylegan2_jax.networks.defaults import ARCHITECTURES
from stylegan2_jax.ops.lerp import lerp
from stylegan2_jax.ops.upfirdn2d import setup_filter, upsample2d



def channels_per_resolution(resolutions: Sequence[int], channel_base: int, channel_max: int) -> dict[int, int]:
  """``min(channel_base // res, channel_max)`` for each resolution, as the official networks."""
  return {res: min(channel_base // res, channel_max) for res in resolutions}


def fp16_resolution(img_resolution: int, num_fp16_res: int) -> int:
  """Lowest resolution that runs in reduced precision when ``num_fp16_res`` top resolutions do."""
  return max(2 ** (int(np.log2(img_resolution)) + 1 - num_fp16_res), 8)


def check_resolution(img_resolution: int) -> int:
  """Returns log2(img_resolution), or raises for resolutions that are not a power of two >= 4."""
  log2 = int(np.log2(img_resolution)) if img_resolution > 0 else 0
  if img_resolution < 4 or 2 ** log2 != img_resolution:
    raise ValueError(f'img_resolution must be a power of two >= 4, got {img_resolution}')
  return log2


def noise_layers(img_resolution: int, use_noise: bool = True) -> list[tuple[str, int]]:
  """(name, resolution) of the synthesis layers that take noise, in forward order (the official draw order)."""
  if not use_noise:
    return []
  layers = [('b4.conv1', 4)]
  for log2 in range(3, check_resolution(img_resolution) + 1):
    layers += [(f'b{2 ** log2}.conv0', 2 ** log2), (f'b{2 ** log2}.conv1', 2 ** log2)]
  return layers


class MappingNetwork(nn.Module):
  """Maps (z, c) to intermediate latents w, tracks their average ``w_avg`` and applies truncation."""
  z_dim: int                       # input latent dimensionality, 0 = none
  c_dim: int                       # conditioning label dimensionality, 0 = none
  w_dim: int                       # intermediate latent dimensionality
  num_ws: int | None               # number of ws to broadcast to, None = do not broadcast
  num_layers: int = 8              # number of dense layers
  embed_features: int | None = None  # label embedding size, None = w_dim
  layer_features: int | None = None  # hidden layer size, None = w_dim
  activation: str = 'lrelu'
  lr_multiplier: float = 0.01      # learning-rate multiplier of the dense layers
  w_avg_beta: float | None = 0.995  # decay of the tracked w_avg, None = do not track

  @nn.compact
  def __call__(self, z: jnp.ndarray | None, c: jnp.ndarray | None, truncation_psi: float = 1.0,
               truncation_cutoff: int | None = None, update_w_avg: bool = False) -> jnp.ndarray:
    embed_features = self.w_dim if self.embed_features is None else self.embed_features
    if self.c_dim == 0:
      embed_features = 0
    layer_features = self.w_dim if self.layer_features is None else self.layer_features
    features = [self.z_dim + embed_features] + [layer_features] * (self.num_layers - 1) + [self.w_dim]

    x = None
    if self.z_dim > 0:
      z = jnp.asarray(z, jnp.float32)
      if z.ndim != 2 or z.shape[1] != self.z_dim:
        raise ValueError(f'z must have shape [N, {self.z_dim}], got {z.shape}')
      x = normalize_2nd_moment(z)
    if self.c_dim > 0:
      c = jnp.asarray(c, jnp.float32)
      if c.ndim != 2 or c.shape[1] != self.c_dim:
        raise ValueError(f'c must have shape [N, {self.c_dim}] (one-hot labels), got {None if c is None else c.shape}')
      y = normalize_2nd_moment(FullyConnectedLayer(self.c_dim, embed_features, name='embed')(c))
      x = y if x is None else jnp.concatenate([x, y], axis=1)
    for idx in range(self.num_layers):
      x = FullyConnectedLayer(features[idx], features[idx + 1], activation=self.activation,
                              lr_multiplier=self.lr_multiplier, name=f'fc{idx}')(x)

    w_avg = None
    if self.w_avg_beta is not None and self.num_ws is not None:
      w_avg = self.variable('buffers', 'w_avg', lambda: jnp.zeros((self.w_dim,), jnp.float32))
      if update_w_avg and not self.is_initializing():
        batch_mean = jnp.mean(jax.lax.stop_gradient(x), axis=0)
        w_avg.value = lerp(batch_mean, w_avg.value, self.w_avg_beta)

    if self.num_ws is not None:
      x = jnp.broadcast_to(x[:, None, :], (x.shape[0], self.num_ws, x.shape[1]))
    if truncation_psi != 1:
      if w_avg is None:
        raise ValueError('truncation needs w_avg, which this mapping network does not track')
      truncated = w_avg.value + truncation_psi * (x - w_avg.value)
      if self.num_ws is None or truncation_cutoff is None:
        x = truncated
      else:
        layer = jnp.arange(self.num_ws)[None, :, None]
        x = jnp.where(layer < truncation_cutoff, truncated, x)
    return x


class SynthesisBlock(nn.Module):
  """One resolution of the synthesis network: [up-conv], conv, [ToRGB], per ``architecture``."""
  in_channels: int        # 0 = first block (learned constant input)
  out_channels: int
  w_dim: int
  resolution: int
  img_channels: int
  is_last: bool
  architecture: str = 'skip'
  resample_filter: Sequence[float] = (1, 3, 3, 1)
  conv_clamp: float | None = None
  dtype: Any = jnp.float32
  kernel_size: int = 3
  use_noise: bool = True
  activation: str = 'lrelu'

  @property
  def num_conv(self) -> int:
    return 1 if self.in_channels == 0 else 2

  @property
  def num_torgb(self) -> int:
    return 1 if (self.is_last or self.architecture == 'skip') else 0

  @nn.compact
  def __call__(self, x, img, ws, noise_mode='random', noise_inputs: Mapping[str, Any] | None = None):
    layer = dict(w_dim=self.w_dim, resolution=self.resolution, kernel_size=self.kernel_size,
                 use_noise=self.use_noise, activation=self.activation,
                 resample_filter=self.resample_filter, conv_clamp=self.conv_clamp, dtype=self.dtype)
    noise_inputs = noise_inputs or {}
    prefix = f'b{self.resolution}'
    if self.in_channels == 0:
      const = self.param('const', nn.initializers.normal(1.0), (self.out_channels, self.resolution, self.resolution))
      x = jnp.broadcast_to(jnp.transpose(const, (1, 2, 0))[None], (ws.shape[0],) + const.shape[1:] + const.shape[:1])
      x = x.astype(self.dtype)
      x = SynthesisLayer(self.out_channels, self.out_channels, name='conv1', **layer)(
          x, ws[:, 0], noise_mode, noise_inputs.get(f'{prefix}.conv1'))
    else:
      x = x.astype(self.dtype)
      conv0 = SynthesisLayer(self.in_channels, self.out_channels, up=2, name='conv0', **layer)
      conv1 = SynthesisLayer(self.out_channels, self.out_channels, name='conv1', **layer)
      if self.architecture == 'resnet':
        y = Conv2dLayer(self.in_channels, self.out_channels, kernel_size=1, bias=False, up=2,
                        resample_filter=self.resample_filter, dtype=self.dtype, name='skip')(x, gain=np.sqrt(0.5))
        x = conv0(x, ws[:, 0], noise_mode, noise_inputs.get(f'{prefix}.conv0'))
        x = conv1(x, ws[:, 1], noise_mode, noise_inputs.get(f'{prefix}.conv1'), gain=np.sqrt(0.5))
        x = y + x
      else:
        x = conv0(x, ws[:, 0], noise_mode, noise_inputs.get(f'{prefix}.conv0'))
        x = conv1(x, ws[:, 1], noise_mode, noise_inputs.get(f'{prefix}.conv1'))
    if img is not None:
      img = upsample2d(img, setup_filter(self.resample_filter))
    if self.num_torgb:
      y = ToRGBLayer(self.out_channels, self.img_channels, w_dim=self.w_dim, conv_clamp=self.conv_clamp,
                     dtype=self.dtype, name='torgb')(x, ws[:, self.num_conv])  # shares the next block's first w
      y = y.astype(jnp.float32)
      img = y if img is None else img + y
    return x, img


# The block with its activations recomputed in the backward pass instead of stored (``remat=True``);
# ``noise_mode`` (argument 4, counting self) is a string, so static.
RematSynthesisBlock = nn.remat(SynthesisBlock, static_argnums=(4,))


class SynthesisNetwork(nn.Module):
  """Synthesizes NCHW images from ws [N, num_ws, w_dim]; blocks ``b4`` ... ``b{img_resolution}``."""
  w_dim: int
  img_resolution: int
  img_channels: int
  channel_base: int = 32768        # overall multiplier for the number of channels
  channel_max: int = 512           # maximum number of channels in any layer
  num_fp16_res: int = 0            # run the N highest resolutions in reduced precision
  fp16_dtype: str = 'float16'      # that precision: 'float16' (official) or 'bfloat16' (TPU)
  architecture: str = 'skip'       # 'orig', 'skip' or 'resnet'
  resample_filter: Sequence[float] = (1, 3, 3, 1)
  conv_clamp: float | None = None  # clamp activations to +-conv_clamp, None = off (256 with fp16)
  kernel_size: int = 3
  use_noise: bool = True
  activation: str = 'lrelu'
  fp16_channels_last: bool = False  # accepted for compatibility with official kwargs; layout is XLA's business
  remat: bool = False              # recompute each block's activations in the backward pass (less memory, same math)

  def block_specs(self) -> list[dict]:
    """Per block: resolution, in/out channels, is_last, compute dtype, ws used."""
    log2 = check_resolution(self.img_resolution)
    if self.architecture not in ARCHITECTURES:
      raise ValueError(f'architecture must be one of {ARCHITECTURES}, got {self.architecture!r}')
    resolutions = [2 ** i for i in range(2, log2 + 1)]
    channels = channels_per_resolution(resolutions, self.channel_base, self.channel_max)
    low = fp16_resolution(self.img_resolution, self.num_fp16_res)
    specs = []
    for res in resolutions:
      specs.append(dict(resolution=res, in_channels=channels[res // 2] if res > 4 else 0,
                        out_channels=channels[res], is_last=(res == self.img_resolution),
                        dtype=jnp.dtype(self.fp16_dtype) if res >= low else jnp.float32))
    return specs

  @property
  def num_ws(self) -> int:
    """Number of per-layer ws the synthesis network takes: ``2 * log2(img_resolution) - 2``."""
    return 2 * check_resolution(self.img_resolution) - 2

  @property
  def noise_layers(self) -> list[tuple[str, int]]:
    """(name, resolution) of the synthesis layers that take noise, in forward order (none without noise)."""
    return noise_layers(self.img_resolution, self.synthesis_kwargs.get('use_noise', True))

  @nn.compact
  def __call__(self, ws: jnp.ndarray, noise_mode: str = 'random',
               noise_inputs: Mapping[str, Any] | None = None) -> jnp.ndarray:
    ws = jnp.asarray(ws, jnp.float32)
    if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
      raise ValueError(f'ws must have shape [N, {self.num_ws}, {self.w_dim}], got {ws.shape}')
    if noise_inputs:
      unknown = set(noise_inputs) - set(self.noise_layer_names())
      if unknown:
        raise ValueError(f'unknown noise layers {sorted(unknown)}; expected names like {self.noise_layer_names()[:3]}')
    x = img = None
    w_idx = 0
    block_class = RematSynthesisBlock if self.remat else SynthesisBlock
    for spec in self.block_specs():
      block = block_class(w_dim=self.w_dim, img_channels=self.img_channels, architecture=self.architecture,
                             resample_filter=self.resample_filter, conv_clamp=self.conv_clamp,
                             kernel_size=self.kernel_size, use_noise=self.use_noise,
                             activation=self.activation, name=f'b{spec["resolution"]}', **spec)
      n = block.num_conv + block.num_torgb
      x, img = block(x, img, ws[:, w_idx:w_idx + n], noise_mode, noise_inputs)
      w_idx += block.num_conv
    return jnp.transpose(img, (0, 3, 1, 2))

  def noise_layer_names(self) -> list[str]:
    """Names of the layers that take noise, in forward order (``b4.conv1``, ``b8.conv0``, ...)."""
    return [name for name, _ in noise_layers(self.img_resolution, self.use_noise)]


class Generator(nn.Module):
  """The StyleGAN2 generator, constructor arguments as the official ``Generator``."""
  z_dim: int
  c_dim: int
  w_dim: int
  img_resolution: int
  img_channels: int
  mapping_kwargs: FrozenDict = FrozenDict()
  synthesis_kwargs: FrozenDict = FrozenDict()
  remat: bool = False              # not an official argument: rematerialize each synthesis block (memory for compute)

  def setup(self):
    self.synthesis = SynthesisNetwork(w_dim=self.w_dim, img_resolution=self.img_resolution,
                                      img_channels=self.img_channels, remat=self.remat, **self.synthesis_kwargs)
    self.mapping = MappingNetwork(z_dim=self.z_dim, c_dim=self.c_dim, w_dim=self.w_dim,
                                  num_ws=self.num_ws, **self.mapping_kwargs)

  @property
  def num_ws(self) -> int:
    """Number of per-layer ws the synthesis network takes: ``2 * log2(img_resolution) - 2``."""
    return 2 * check_resolution(self.img_resolution) - 2

  @property
  def noise_layers(self) -> list[tuple[str, int]]:
    """(name, resolution) of the synthesis layers that take noise, in forward order (none without noise)."""
    return noise_layers(self.img_resolution, self.synthesis_kwargs.get('use_noise', True))

  def map(self, z, c=None, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
          update_w_avg: bool = False):
    """z [N, z_dim], c [N, c_dim] -> ws [N, num_ws, w_dim] (``update_w_avg`` needs mutable 'buffers')."""
    return self.mapping(z, c, truncation_psi, truncation_cutoff, update_w_avg)

  def synthesize(self, ws, noise_mode: str = 'random', noise_inputs: Mapping[str, Any] | None = None):
    """ws [N, num_ws, w_dim] -> NCHW float32 images; 'random' noise needs the 'noise' rng."""
    return self.synthesis(ws, noise_mode, noise_inputs)

  def __call__(self, z, c=None, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
               noise_mode: str = 'random', noise_inputs: Mapping[str, Any] | None = None,
               update_w_avg: bool = False):
    """z, c -> NCHW images, as the official ``G(z, c, truncation_psi, truncation_cutoff, noise_mode)``."""
    ws = self.map(z, c, truncation_psi, truncation_cutoff, update_w_avg)
    return self.synthesize(ws, noise_mode, noise_inputs)

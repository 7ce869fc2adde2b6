"""StyleGAN2 discriminator (official ``training/networks.py``): blocks ``b{res}`` down to 8, epilogue ``b4``.

Images enter NCHW float32 (as the official code); activations are NHWC inside.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np
from flax.core import FrozenDict

from stylegan2_jax.networks.generator import (ARCHITECTURES, MappingNetwork, channels_per_resolution,
                                              check_resolution, fp16_resolution)
from stylegan2_jax.networks.layers import Conv2dLayer, FullyConnectedLayer, minibatch_stddev
from stylegan2_jax.ops.upfirdn2d import downsample2d, setup_filter


class DiscriminatorBlock(nn.Module):
  """[FromRGB], conv, down-conv, and for ``resnet`` a 1x1 down skip, summed with gain sqrt(0.5)."""
  in_channels: int          # 0 = first block (reads the image)
  tmp_channels: int
  out_channels: int
  resolution: int
  img_channels: int
  architecture: str = 'resnet'
  activation: str = 'lrelu'
  resample_filter: Sequence[float] = (1, 3, 3, 1)
  conv_clamp: float | None = None
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, img):
    conv = dict(activation=self.activation, conv_clamp=self.conv_clamp, dtype=self.dtype)
    if x is not None:
      x = x.astype(self.dtype)
    if self.in_channels == 0 or self.architecture == 'skip':
      img = img.astype(self.dtype)
      y = Conv2dLayer(self.img_channels, self.tmp_channels, kernel_size=1, name='fromrgb', **conv)(img)
      x = y if x is None else x + y
      img = downsample2d(img, setup_filter(self.resample_filter)) if self.architecture == 'skip' else None
    conv0 = Conv2dLayer(self.tmp_channels, self.tmp_channels, kernel_size=3, name='conv0', **conv)
    conv1 = Conv2dLayer(self.tmp_channels, self.out_channels, kernel_size=3, down=2,
                        resample_filter=self.resample_filter, name='conv1', **conv)
    if self.architecture == 'resnet':
      y = Conv2dLayer(self.tmp_channels, self.out_channels, kernel_size=1, bias=False, down=2,
                      resample_filter=self.resample_filter, dtype=self.dtype, name='skip')(x, gain=np.sqrt(0.5))
      x = y + conv1(conv0(x), gain=np.sqrt(0.5))
    else:
      x = conv1(conv0(x))
    return x, img


# The block with its activations recomputed in the backward pass instead of stored (``remat=True``).
RematDiscriminatorBlock = nn.remat(DiscriminatorBlock)


class DiscriminatorEpilogue(nn.Module):
  """4x4 head: [FromRGB], minibatch stddev, conv, dense, output (projection onto cmap if conditional)."""
  in_channels: int
  cmap_dim: int
  resolution: int
  img_channels: int
  architecture: str = 'resnet'
  mbstd_group_size: int | None = 4   # samples per minibatch-stddev group, None = whole minibatch
  mbstd_num_channels: int = 1        # minibatch-stddev features, 0 = layer disabled
  activation: str = 'lrelu'
  conv_clamp: float | None = None

  @nn.compact
  def __call__(self, x, img, cmap, mbstd_shards: int = 1):
    x = x.astype(jnp.float32)
    if self.architecture == 'skip':
      x = x + Conv2dLayer(self.img_channels, self.in_channels, kernel_size=1, activation=self.activation,
                          name='fromrgb')(img.astype(jnp.float32))
    if self.mbstd_num_channels > 0:
      n = x.shape[0]
      if n % mbstd_shards:
        raise ValueError(f'batch {n} does not split into {mbstd_shards} minibatch-stddev shards')
      shards = x.reshape((mbstd_shards, n // mbstd_shards) + x.shape[1:])
      shards = [minibatch_stddev(s, self.mbstd_group_size, self.mbstd_num_channels) for s in shards]
      x = jnp.concatenate(shards, axis=0) if mbstd_shards > 1 else shards[0]
      self.sow('intermediates', 'mbstd', x)
    x = Conv2dLayer(self.in_channels + self.mbstd_num_channels, self.in_channels, kernel_size=3,
                    activation=self.activation, conv_clamp=self.conv_clamp, name='conv')(x)
    x = jnp.transpose(x, (0, 3, 1, 2)).reshape(x.shape[0], -1)  # flatten in NCHW order, as the official fc
    x = FullyConnectedLayer(self.in_channels * self.resolution ** 2, self.in_channels,
                            activation=self.activation, name='fc')(x)
    x = FullyConnectedLayer(self.in_channels, 1 if self.cmap_dim == 0 else self.cmap_dim, name='out')(x)
    if self.cmap_dim > 0:
      x = jnp.sum(x * cmap, axis=1, keepdims=True) * (1 / np.sqrt(self.cmap_dim))
    return x


class Discriminator(nn.Module):
  """The StyleGAN2 discriminator, constructor arguments as the official ``Discriminator``."""
  c_dim: int
  img_resolution: int
  img_channels: int
  architecture: str = 'resnet'       # 'orig', 'skip' or 'resnet'
  channel_base: int = 32768
  channel_max: int = 512
  num_fp16_res: int = 0
  conv_clamp: float | None = None
  cmap_dim: int | None = None        # label-embedding size, None = channels at 4x4
  block_kwargs: FrozenDict = FrozenDict()     # activation, resample_filter, freeze_layers, fp16_channels_last
  mapping_kwargs: FrozenDict = FrozenDict()   # for the label embedding network
  epilogue_kwargs: FrozenDict = FrozenDict()  # mbstd_group_size, mbstd_num_channels, activation
  fp16_dtype: str = 'float16'        # reduced precision of the num_fp16_res highest resolutions
  remat: bool = False                # not an official argument: rematerialize each block (memory for compute)

  def block_specs(self) -> list[dict]:
    """Per block: resolution, in/tmp/out channels and compute dtype, from the highest resolution down."""
    log2 = check_resolution(self.img_resolution)
    if self.architecture not in ARCHITECTURES:
      raise ValueError(f'architecture must be one of {ARCHITECTURES}, got {self.architecture!r}')
    resolutions = [2 ** i for i in range(log2, 2, -1)]
    channels = channels_per_resolution(resolutions + [4], self.channel_base, self.channel_max)
    low = fp16_resolution(self.img_resolution, self.num_fp16_res)
    return [dict(resolution=res, in_channels=channels[res] if res < self.img_resolution else 0,
                 tmp_channels=channels[res], out_channels=channels[res // 2],
                 dtype=jnp.dtype(self.fp16_dtype) if res >= low else jnp.float32) for res in resolutions]

  def frozen_layers(self) -> list[str]:
    """The layers ``block_kwargs.freeze_layers`` freezes (official ``--freezed``), e.g. ``['b256.fromrgb', ...]``.

    As the official code counts them: the conv layers of the blocks from the highest
    resolution down (``fromrgb`` where the block has one, ``conv0``, ``conv1``, ``skip``
    for resnet); the 4x4 epilogue and the label mapping always train.
    """
    layers = []
    for spec in self.block_specs():
      res = spec['resolution']
      if spec['in_channels'] == 0 or self.architecture == 'skip':
        layers.append(f'b{res}.fromrgb')
      layers += [f'b{res}.conv0', f'b{res}.conv1'] + ([f'b{res}.skip'] if self.architecture == 'resnet' else [])
    return layers[:max(int(dict(self.block_kwargs).get('freeze_layers', 0)), 0)]

  @nn.compact
  def __call__(self, img: jnp.ndarray, c: jnp.ndarray | None = None, mbstd_shards: int = 1) -> jnp.ndarray:
    """img [N, C, H, W] in [-1, 1], c [N, c_dim] -> logits [N, 1].

    ``mbstd_shards`` splits the batch into that many contiguous slices (one per
    device when the batch is sharded) and forms minibatch-stddev groups inside
    each, as the official multi-GPU code does per GPU.
    """
    img = jnp.asarray(img, jnp.float32)
    expected = (self.img_channels, self.img_resolution, self.img_resolution)
    if img.ndim != 4 or img.shape[1:] != expected:
      raise ValueError(f'img must have shape [N, {", ".join(map(str, expected))}] (NCHW), got {img.shape}')
    block_kwargs = dict(self.block_kwargs)
    block_kwargs.pop('fp16_channels_last', None)
    block_kwargs.pop('freeze_layers', None)  # a training concern: which layers get gradients
    common = dict(img_channels=self.img_channels, architecture=self.architecture, conv_clamp=self.conv_clamp)
    specs = self.block_specs()
    channels4 = min(self.channel_base // 4, self.channel_max)
    cmap_dim = channels4 if self.cmap_dim is None else self.cmap_dim
    if self.c_dim == 0:
      cmap_dim = 0

    x = None
    img = jnp.transpose(img, (0, 2, 3, 1))
    block_class = RematDiscriminatorBlock if self.remat else DiscriminatorBlock
    for spec in specs:
      x, img = block_class(name=f'b{spec["resolution"]}', **spec, **block_kwargs, **common)(x, img)
    cmap = None
    if self.c_dim > 0:
      cmap = MappingNetwork(z_dim=0, c_dim=self.c_dim, w_dim=cmap_dim, num_ws=None, w_avg_beta=None,
                            name='mapping', **self.mapping_kwargs)(None, c)
    return DiscriminatorEpilogue(channels4, cmap_dim=cmap_dim, resolution=4, name='b4',
                                 **self.epilogue_kwargs, **common)(x, img, cmap, mbstd_shards)

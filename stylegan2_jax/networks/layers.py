"""StyleGAN2 layers as Flax Linen modules (activations NHWC, weights in the official layouts).

Parameter names and shapes equal the official ``state_dict`` entries
(``weight`` [out, in] or [out, in, kh, kw], ``bias``, ``noise_strength``, ...) and are
stored *without* the equalized-learning-rate gains, which are applied at run time
exactly as in ``training/networks.py``. Buffers (``noise_const``, ``w_avg``) live
in the ``buffers`` collection; the FIR ``resample_filter`` is a static constant.

Modulated convolution is written as "modulate the activations, one shared
convolution, demodulate the outputs" (einsums over the style axis): the same
numbers as the per-sample-weight (grouped conv) form, but one ordinary
convolution for the whole batch, which XLA runs fast on CPU, GPU and TPU, and
whose backward pass is 20-40x faster on CPU than the grouped form.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from stylegan2_jax.ops.bias_act import bias_act, default_gain
from stylegan2_jax.ops.conv2d_resample import conv2d_resample
from stylegan2_jax.ops.upfirdn2d import setup_filter

Dtype = Any
NOISE_MODES = ('random', 'const', 'none')


def normalize_2nd_moment(x: jnp.ndarray, axis: int = 1, eps: float = 1e-8) -> jnp.ndarray:
  """Scales ``x`` to unit second moment along ``axis`` (the official mapping-input normalization)."""
  return x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=axis, keepdims=True) + eps)


def _normal(scale: float = 1.0):
  def init(key, shape, dtype=jnp.float32):
    return jax.random.normal(key, shape, dtype) * jnp.asarray(scale, dtype)
  return init


def _constant(value: float):
  def init(key, shape, dtype=jnp.float32):
    del key
    return jnp.full(shape, value, dtype)
  return init


class FullyConnectedLayer(nn.Module):
  """Equalized-lr dense layer: ``act(x @ (W * lr_multiplier / sqrt(in)).T + b * lr_multiplier)``."""
  in_features: int
  out_features: int
  bias: bool = True
  activation: str = 'linear'
  lr_multiplier: float = 1.0   # learning-rate multiplier: weights stored as randn / lr_multiplier
  bias_init: float = 0.0       # initial value of the stored bias (used as bias * lr_multiplier)

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    weight = self.param('weight', _normal(1.0 / self.lr_multiplier), (self.out_features, self.in_features))
    w = weight.astype(x.dtype) * (self.lr_multiplier / np.sqrt(self.in_features))
    b = None
    if self.bias:
      b = self.param('bias', _constant(np.float32(self.bias_init)), (self.out_features,))
      b = b.astype(x.dtype) * self.lr_multiplier
    x = jnp.matmul(x, w.T)
    return bias_act(x, b, act=self.activation)


class Conv2dLayer(nn.Module):
  """Equalized-lr convolution with optional FIR up/downsampling, bias, activation and clamp."""
  in_channels: int
  out_channels: int
  kernel_size: int
  bias: bool = True
  activation: str = 'linear'
  up: int = 1
  down: int = 1
  resample_filter: Sequence[float] = (1, 3, 3, 1)
  conv_clamp: float | None = None   # clamp the output to +-conv_clamp * gain (None: no clamp)
  dtype: Dtype = jnp.float32       # compute dtype of the activations

  @nn.compact
  def __call__(self, x: jnp.ndarray, gain: float = 1.0) -> jnp.ndarray:
    k = self.kernel_size
    weight = self.param('weight', _normal(), (self.out_channels, self.in_channels, k, k))
    w = weight * (1.0 / np.sqrt(self.in_channels * k * k))
    x = x.astype(self.dtype)
    x = conv2d_resample(x, w.astype(self.dtype), f=setup_filter(self.resample_filter), up=self.up,
                        down=self.down, padding=k // 2, flip_weight=(self.up == 1))
    b = self.param('bias', nn.initializers.zeros, (self.out_channels,)) if self.bias else None
    act_gain = default_gain(self.activation) * gain
    act_clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
    return bias_act(x, b, act=self.activation, gain=act_gain, clamp=act_clamp)


def modulated_conv2d(x: jnp.ndarray, weight: jnp.ndarray, styles: jnp.ndarray, noise: jnp.ndarray | None = None,
                     up: int = 1, padding: int = 0, resample_filter: np.ndarray | None = None,
                     demodulate: bool = True) -> jnp.ndarray:
  """Modulated (and demodulated) convolution of NHWC ``x`` by per-sample ``styles`` [N, in].

  ``weight`` is [out, in, kh, kw] without gain. Computes the official
  ``x * dcoefs + noise`` with ``dcoefs = rsqrt(sum_{i,kh,kw} (W * s)^2 + 1e-8)``.
  """
  out_channels, in_channels, kh, kw = weight.shape
  weight = weight.astype(jnp.float32)
  styles = styles.astype(jnp.float32)
  if x.dtype == jnp.float16 and demodulate:  # pre-normalize against fp16 overflow, as the official code
    weight = weight * (1 / np.sqrt(in_channels * kh * kw) / jnp.max(jnp.abs(weight), axis=(1, 2, 3), keepdims=True))
    styles = styles / jnp.max(jnp.abs(styles), axis=1, keepdims=True)
  x = jnp.einsum('nhwi,ni->nhwi', x, styles.astype(x.dtype))
  x = conv2d_resample(x, weight.astype(x.dtype), f=resample_filter, up=up, padding=padding,
                      flip_weight=(up == 1))
  if demodulate:
    dcoefs = jax.lax.rsqrt(jnp.einsum('ni,oi->no', jnp.square(styles), jnp.sum(jnp.square(weight), axis=(2, 3))) + 1e-8)
    x = jnp.einsum('nhwo,no->nhwo', x, dcoefs.astype(x.dtype))
  if noise is not None:
    x = x + noise.astype(x.dtype)
  return x


def _noise_to_nhwc(noise: jnp.ndarray, resolution: int) -> jnp.ndarray:
  """Accepts per-layer noise as [N, 1, R, R] (official layout), [N, R, R] or [N, R, R, 1]."""
  noise = jnp.asarray(noise, jnp.float32)
  if noise.ndim == 4 and noise.shape[1] == 1 and noise.shape[2:] == (resolution, resolution):
    return noise.reshape(noise.shape[0], resolution, resolution, 1)
  if noise.ndim == 3 and noise.shape[1:] == (resolution, resolution):
    return noise[..., None]
  if noise.ndim == 4 and noise.shape[1:] == (resolution, resolution, 1):
    return noise
  raise ValueError(f'noise for a {resolution}x{resolution} layer must be [N, 1, {resolution}, {resolution}], '
                   f'got shape {noise.shape}')


class SynthesisLayer(nn.Module):
  """Modulated 3x3 convolution with per-pixel noise, bias and lrelu (optionally upsampling by 2)."""
  in_channels: int
  out_channels: int
  w_dim: int
  resolution: int
  kernel_size: int = 3
  up: int = 1
  use_noise: bool = True
  activation: str = 'lrelu'
  resample_filter: Sequence[float] = (1, 3, 3, 1)
  conv_clamp: float | None = None
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: jnp.ndarray, w: jnp.ndarray, noise_mode: str = 'random',
               noise: jnp.ndarray | None = None, gain: float = 1.0) -> jnp.ndarray:
    if noise_mode not in NOISE_MODES:
      raise ValueError(f'noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}')
    styles = FullyConnectedLayer(self.w_dim, self.in_channels, bias_init=1, name='affine')(w)
    k = self.kernel_size
    weight = self.param('weight', _normal(), (self.out_channels, self.in_channels, k, k))
    noise_term = None
    if self.use_noise:
      r = self.resolution
      noise_const = self.variable('buffers', 'noise_const',
                                  lambda: jax.random.normal(self.make_rng('params'), (r, r)))
      noise_strength = self.param('noise_strength', nn.initializers.zeros, ())
      if noise is not None:
        noise_term = _noise_to_nhwc(noise, r) * noise_strength
      elif noise_mode == 'random':
        noise_term = jax.random.normal(self.make_rng('noise'), (x.shape[0], r, r, 1)) * noise_strength
      elif noise_mode == 'const':
        noise_term = (noise_const.value * noise_strength)[None, :, :, None]
    x = modulated_conv2d(x.astype(self.dtype), weight, styles, noise=noise_term, up=self.up,
                         padding=k // 2, resample_filter=setup_filter(self.resample_filter))
    bias = self.param('bias', nn.initializers.zeros, (self.out_channels,))
    act_gain = default_gain(self.activation) * gain
    act_clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
    return bias_act(x, bias, act=self.activation, gain=act_gain, clamp=act_clamp)


class ToRGBLayer(nn.Module):
  """Modulated 1x1 convolution to image channels, no demodulation, styles scaled by 1/sqrt(in)."""
  in_channels: int
  out_channels: int
  w_dim: int
  kernel_size: int = 1
  conv_clamp: float | None = None
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: jnp.ndarray, w: jnp.ndarray) -> jnp.ndarray:
    k = self.kernel_size
    styles = FullyConnectedLayer(self.w_dim, self.in_channels, bias_init=1, name='affine')(w)
    styles = styles * (1 / np.sqrt(self.in_channels * k * k))
    weight = self.param('weight', _normal(), (self.out_channels, self.in_channels, k, k))
    x = modulated_conv2d(x.astype(self.dtype), weight, styles, demodulate=False, padding=k // 2)
    bias = self.param('bias', nn.initializers.zeros, (self.out_channels,))
    return bias_act(x, bias, clamp=self.conv_clamp)


def minibatch_stddev(x: jnp.ndarray, group_size: int | None, num_channels: int = 1) -> jnp.ndarray:
  """Appends the official minibatch standard deviation channels to NHWC ``x``.

  Groups are strided as ``x.reshape(G, -1, ...)`` in the official code: with
  N=8, G=4 the groups are {0,2,4,6} and {1,3,5,7}. Under a sharded batch, call
  this on each device's slice (e.g. inside ``shard_map``) to keep groups local.
  """
  n, h, w, c = x.shape
  g = n if group_size is None else min(group_size, n)
  if n % g:
    raise ValueError(f'minibatch-stddev group size {g} must divide the batch size {n}')
  f = num_channels
  y = x.astype(jnp.float32).reshape(g, n // g, h, w, f, c // f)
  y = y - jnp.mean(y, axis=0)
  y = jnp.mean(jnp.square(y), axis=0)
  y = jnp.sqrt(y + 1e-8)
  y = jnp.mean(y, axis=(1, 2, 4))                      # [n/G, F]
  y = jnp.tile(y, (g, 1))                              # [N, F], sample i gets group i % (N/G)
  y = jnp.broadcast_to(y[:, None, None, :], (n, h, w, f)).astype(x.dtype)
  return jnp.concatenate([x, y], axis=-1)

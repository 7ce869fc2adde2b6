"""Projection of real images into W (or W+), as the official ``projector.py``: LPIPS distance + noise regularization.

For ``num_steps`` steps, Adam (betas 0.9/0.999, lr 0.1 with a linear ramp-up over
the first 5% of the steps and a cosine ramp-down over the last 25%) optimizes one w (or one per layer with
``w_plus``), started at the average of 10,000 mapped latents, and the per-layer
noise maps (started random, renormalized to zero mean and unit variance after
every step). The w is perturbed by Gaussian noise of ``w_std * 0.05`` that
decays quadratically to zero over the first 75% of the steps. The loss is the
LPIPS (VGG16) distance to the target (both area-downsampled to 256 px if larger;
grayscale repeated to RGB) plus ``1e5`` times the noise autocorrelation penalty
summed over scales down to 8x8.

Several targets are projected at once, each independently (its own w, noise,
Adam moments and random draws), with the batch spread over all devices.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from stylegan2_jax.sampling import class_labels, to_uint8
from stylegan2_jax.networks.handle import LoadedNetwork
from stylegan2_jax.metrics.lpips import LPIPS
from stylegan2_jax.metrics.vgg16 import area_resize
from stylegan2_jax.sharding import batch_sharding, data_mesh, replicated, round_up

LPIPS_MAX_RESOLUTION = 256


@dataclasses.dataclass(frozen=True)
class ProjectionSettings:
  """The official projector's hyperparameters (``projector.py`` defaults)."""
  num_steps: int = 1000
  w_avg_samples: int = 10000
  initial_learning_rate: float = 0.1
  initial_noise_factor: float = 0.05
  lr_rampdown_length: float = 0.25
  lr_rampup_length: float = 0.05
  noise_ramp_length: float = 0.75
  regularize_noise_weight: float = 1e5
  w_plus: bool = False          # one w per layer (W+) instead of one w broadcast to all layers
  seed: int = 0                 # noise-map initialization and w perturbations

  def learning_rate(self, step: int) -> float:
    """The ramped learning rate at ``step``."""
    t = step / self.num_steps
    ramp = min(1.0, (1.0 - t) / self.lr_rampdown_length)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return self.initial_learning_rate * ramp * min(1.0, t / self.lr_rampup_length)

  def w_noise_factor(self, step: int) -> float:
    """The w perturbation at ``step`` as a multiple of ``w_std``."""
    t = step / self.num_steps
    return self.initial_noise_factor * max(0.0, 1.0 - t / self.noise_ramp_length) ** 2


@dataclasses.dataclass
class ProjectionResult:
  """What a projection found, per target: ws [B, num_ws, w_dim], noise {layer: [B, r, r]}, final LPIPS distances,
  and the loss terms of every step ([steps, B])."""
  ws: np.ndarray
  noise: dict[str, np.ndarray]
  distance: np.ndarray
  history: dict[str, np.ndarray]


def noise_regularization(noise: dict[str, jnp.ndarray]) -> jnp.ndarray:
  """Official noise penalty per image: squared 1-pixel autocorrelations over a pyramid down to 8x8 -> [B]."""
  total = 0.0
  for value in noise.values():
    x = value
    while True:
      total = total + jnp.mean(x * jnp.roll(x, 1, axis=2), axis=(1, 2)) ** 2
      total = total + jnp.mean(x * jnp.roll(x, 1, axis=1), axis=(1, 2)) ** 2
      if x.shape[1] <= 8:
        break
      b, h, w = x.shape
      x = x.reshape(b, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
  return total


def lpips_input(images: jnp.ndarray) -> jnp.ndarray:
  """NCHW images in [-1, 1] as LPIPS takes them: RGB (grayscale repeated), at most 256 px (area resize)."""
  if images.shape[1] == 1:
    images = jnp.repeat(images, 3, axis=1)
  elif images.shape[1] != 3:
    raise ValueError(f'projection compares RGB or grayscale images, got {images.shape[1]} channels')
  if images.shape[2] > LPIPS_MAX_RESOLUTION:
    images = area_resize(images.transpose(0, 2, 3, 1), LPIPS_MAX_RESOLUTION).transpose(0, 3, 1, 2)
  return images


def w_statistics(net: LoadedNetwork, num_samples: int, class_idx: int | None = None) -> tuple[np.ndarray, float]:
  """(w_avg [w_dim], w_std) of ``num_samples`` mapped latents drawn from ``RandomState(123)``, as the official."""
  G = net.module
  z = np.random.RandomState(123).randn(num_samples, G.z_dim).astype(np.float32)
  c = class_labels(num_samples, G.c_dim, class_idx)
  w = np.asarray(jax.jit(lambda v, z, c: G.apply(v, z, c, method=G.map)[:, 0])(net.variables, z, c), np.float64)
  w_avg = w.mean(axis=0)
  return w_avg.astype(np.float32), float(np.sqrt(np.sum((w - w_avg) ** 2) / num_samples))


class Projector:
  """Projects batches of target images into a generator's latent space (see the module docstring)."""

  def __init__(self, net: LoadedNetwork, lpips_variables: dict, settings: ProjectionSettings = ProjectionSettings(),
               class_idx: int | None = None):
    self.net, self.G, self.settings = net, net.module, settings
    G = self.G
    self.mesh = data_mesh()
    self.w_avg, self.w_std = w_statistics(net, settings.w_avg_samples, class_idx)
    self._shapes = dict(G.noise_layers)
    self.replicated = jax.device_put((net.variables, lpips_variables), replicated(self.mesh))
    self.adam = optax.scale_by_adam(b1=0.9, b2=0.999, eps=1e-8)
    lpips, num_ws, weight = LPIPS(), G.num_ws, settings.regularize_noise_weight

    def render(g_vars, params):
      ws = jnp.broadcast_to(params['w'], (params['w'].shape[0], num_ws, params['w'].shape[2]))
      noise = {name: value[:, None] for name, value in params['noise'].items()}
      return G.apply(g_vars, ws, 'const', noise, method=G.synthesize)

    def losses(params, fixed, target, w_noise):
      g_vars, lpips_vars = fixed
      image = render(g_vars, {**params, 'w': params['w'] + w_noise})
      dist = lpips.apply(lpips_vars, lpips_input(image), target)
      reg = noise_regularization(params['noise'])
      return jnp.sum(dist + reg * weight), (dist, reg)

    def step(params, opt_state, fixed, target, keys, lr, w_noise_scale, index):
      draw = lambda k: jax.random.normal(jax.random.fold_in(jax.random.fold_in(k, 1), index), params['w'].shape[1:])
      w_noise = jax.vmap(draw)(keys)
      grads, (dist, reg) = jax.grad(losses, has_aux=True)(params, fixed, target, w_noise * w_noise_scale)
      updates, opt_state = self.adam.update(grads, opt_state)
      params = jax.tree.map(lambda p, u: p - lr * u, params, updates)
      params['noise'] = {name: _normalize(v) for name, v in params['noise'].items()}
      return params, opt_state, dist, reg

    def final(params, fixed, target):
      image = render(fixed[0], params)
      return lpips.apply(fixed[1], lpips_input(image), target)

    self._step = jax.jit(step, donate_argnums=(0, 1))
    self._final = jax.jit(final)
    self._render = jax.jit(lambda fixed, params: to_uint8(render(fixed[0], params)))

  def _initial_params(self, keys: jax.Array) -> dict:
    b, layers = keys.shape[0], self.G.num_ws if self.settings.w_plus else 1
    w = jnp.broadcast_to(jnp.asarray(self.w_avg), (b, layers, self.w_avg.shape[0]))
    init = jax.vmap(lambda k: jax.random.fold_in(k, 0))(keys)
    noise = {name: jax.vmap(lambda k, i=i, r=r: jax.random.normal(jax.random.fold_in(k, i), (r, r)))(init)
             for i, (name, r) in enumerate(self._shapes.items())}
    return dict(w=jnp.array(w), noise=noise)

  def project(self, targets: np.ndarray, ids: np.ndarray | None = None, progress: bool = True,
              on_frame: Callable[[int, np.ndarray], None] | None = None) -> ProjectionResult:
    """Projects HWC uint8 ``targets`` [B, R, R, C] (R = the network's resolution).

    ``ids`` (default 0..B-1) pick each target's random draws, so a target
    projects the same alone or in a batch. ``on_frame(step, images)`` receives
    the current renderings (HWC uint8 [B, ...]) after every step.
    """
    from tqdm import tqdm  # pylint: disable=import-outside-toplevel
    G, s = self.G, self.settings
    targets = np.asarray(targets)
    want = (G.img_resolution, G.img_resolution, G.img_channels)
    if targets.ndim != 4 or targets.shape[1:] != want:
      raise ValueError(f'targets must be [B, {want[0]}, {want[1]}, {want[2]}] uint8 for this network, '
                       f'got {targets.shape}')
    b = len(targets)
    ids = np.arange(b) if ids is None else np.asarray(ids)
    padded = round_up(b, self.mesh.size)
    pad = lambda a: np.concatenate([a, np.repeat(a[-1:], padded - b, axis=0)])
    sharding = batch_sharding(self.mesh)
    target = jnp.asarray(pad(targets), jnp.float32).transpose(0, 3, 1, 2) / 127.5 - 1
    target = jax.device_put(lpips_input(target), sharding)
    base = jax.random.key(s.seed)
    keys = jax.device_put(jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.asarray(pad(ids), jnp.uint32)),
                          sharding)
    params = jax.device_put(self._initial_params(keys), sharding)
    opt_state = self.adam.init(params)
    history = dict(dist=[], noise_reg=[])
    with tqdm(total=s.num_steps, desc='project', unit='step', disable=not progress) as bar:
      for i in range(s.num_steps):
        params, opt_state, dist, reg = self._step(params, opt_state, self.replicated, target, keys,
                                                  s.learning_rate(i), self.w_std * s.w_noise_factor(i), i)
        history['dist'].append(dist)
        history['noise_reg'].append(reg)
        if on_frame is not None:
          on_frame(i, np.asarray(self._render(self.replicated, params))[:b])
        if i % 10 == 0 or i == s.num_steps - 1:
          bar.set_postfix(dist=f'{float(jnp.mean(dist[:b])):.4f}')
        bar.update(1)
    distance = self._final(params, self.replicated, target)
    ws = np.broadcast_to(np.asarray(params['w'])[:b], (b, G.num_ws, self.w_avg.shape[0])).copy()
    return ProjectionResult(ws=ws, noise={k: np.asarray(v)[:b] for k, v in params['noise'].items()},
                            distance=np.asarray(distance)[:b],
                            history={k: np.stack([np.asarray(x)[:b] for x in v]) for k, v in history.items()})


def _normalize(noise: jnp.ndarray) -> jnp.ndarray:
  """Per image: zero mean, unit variance over the map (official ``buf -= mean; buf *= rsqrt(mean(buf^2))``)."""
  noise = noise - jnp.mean(noise, axis=(1, 2), keepdims=True)
  return noise * jax.lax.rsqrt(jnp.mean(noise ** 2, axis=(1, 2), keepdims=True))


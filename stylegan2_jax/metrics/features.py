"""Feature statistics of real and generated images, batched over every device, with a cache for the real side.

A :class:`Detector` is a pure function ``(variables, uint8 NHWC RGB images) -> [N, F]``
(Inception pool3, Inception class probabilities, VGG16 features); these
functions feed it dataset images in order or generator samples, shard each
batch over the mesh's ``data`` axis and accumulate :class:`FeatureStats`, so no
more than one batch of images is ever in memory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
from typing import Any, Callable

import grain
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from tqdm import tqdm

from stylegan2_jax.sampling import generator_images
from stylegan2_jax.metrics.metric_math import FeatureStats
from stylegan2_jax.sharding import batch_sharding, replicated, round_up


@dataclasses.dataclass(frozen=True, eq=False)
class Detector:
  """A feature network: ``apply(variables, uint8 NHWC images) -> float32 [N, F]`` (jittable)."""
  name: str                   # what it computes, part of the cache key (e.g. 'inception_pool3')
  apply: Callable[[Any, jnp.ndarray], jnp.ndarray]
  variables: Any
  weights_id: str = ''        # identifies the weights (file name and size), part of the cache key
  compiled: dict = dataclasses.field(default_factory=dict, repr=False)  # jitted feature functions, see jit_once


def jit_once(cache: dict, key: tuple, build: Callable[[], Callable]) -> Callable:
  """``build()`` (a jitted function) made once per ``key`` in ``cache``, so later calls reuse its compilations.

  Objects in the key (modules, meshes, functions) count by identity and are kept
  alive with the entry; strings and numbers count by value.
  """
  ids = tuple(k if isinstance(k, (str, int, float)) else id(k) for k in key)
  if ids not in cache:
    cache[ids] = (key, build())
  return cache[ids][1]


def global_batch(mesh, array: np.ndarray) -> jax.Array:
  """A host array (the same on every process) as a global array sharded over ``data``."""
  sharding = batch_sharding(mesh)
  return jax.make_array_from_callback(array.shape, sharding, lambda index: array[index])


def fetch_global(array: jax.Array) -> np.ndarray:
  """A global (possibly multi-process) array as one host numpy array."""
  if jax.process_count() > 1:
    return np.asarray(multihost_utils.process_allgather(array, tiled=True))
  return np.asarray(array)


def _to_rgb(images: jnp.ndarray) -> jnp.ndarray:
  return jnp.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images[..., :3]


def real_features(source, detector: Detector, mesh, max_items: int | None = None, capture_all: bool = False,
                  capture_mean_cov: bool = False, batch_size: int = 64, cache_dir: str | None = None,
                  progress: bool = True, num_threads: int = 8) -> FeatureStats:
  """Features of the first ``max_items`` dataset images (all by default), from the cache when computed before."""
  num = len(source) if max_items is None else min(max_items, len(source))
  key = dict(source=getattr(source, 'description', ''), items=num, resolution=source.resolution,
             detector=detector.name, weights=detector.weights_id, all=capture_all, mean_cov=capture_mean_cov)
  digest = hashlib.md5(json.dumps(key, sort_keys=True).encode()).hexdigest()
  cache = pathlib.Path(cache_dir).expanduser() / f'real-{detector.name}-{num}-{digest}.npz' if cache_dir else None
  if cache is not None and cache.exists():
    with np.load(cache) as data:
      return FeatureStats.from_state({k: data[k] for k in data.files})

  stats = FeatureStats(capture_all=capture_all, capture_mean_cov=capture_mean_cov, max_items=num)
  per_step = round_up(batch_size, mesh.size)
  run = jit_once(detector.compiled, ('real', mesh),
                 lambda: jax.jit(lambda v, x: detector.apply(v, _to_rgb(x)), out_shardings=batch_sharding(mesh)))
  variables = jax.device_put(detector.variables, replicated(mesh))
  images = grain.MapDataset.range(num).map(lambda i: np.transpose(source.read(i)[0], (1, 2, 0)))
  reader = iter(images.to_iter_dataset(grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=2 * per_step)))
  with tqdm(total=num, desc=f'real images ({detector.name})', unit='img', disable=not progress) as bar:
    for start in range(0, num, per_step):
      batch = np.stack([next(reader) for _ in range(min(per_step, num - start))])
      count = len(batch)
      batch = np.pad(batch, [(0, per_step - count)] + [(0, 0)] * 3)
      stats.append(fetch_global(run(variables, global_batch(mesh, batch)))[:count])
      bar.update(count)
  if cache is not None and jax.process_index() == 0:
    cache.parent.mkdir(parents=True, exist_ok=True)
    temp = cache.with_suffix('.tmp.npz')
    np.savez(temp, **stats.state())
    temp.replace(cache)
  return stats


def dataset_labels(source, c_dim: int) -> np.ndarray:
  """All labels of ``source`` as int array (for drawing generator conditions like the official loop)."""
  if not c_dim:
    return np.zeros(0, np.int64)
  if getattr(source, 'labels', None) is not None:
    return np.asarray(source.labels)
  return np.asarray([source.read(i)[1] for i in range(len(source))])


def draw_labels(rng: np.random.RandomState, labels: np.ndarray | None, n: int, c_dim: int) -> np.ndarray:
  """[n, c_dim] one-hot conditions drawn uniformly from the dataset's labels (zeros [n, 0] when unconditional)."""
  c = np.zeros((n, c_dim), np.float32)
  if c_dim:
    c[np.arange(n), labels[rng.randint(len(labels), size=n)]] = 1
  return c


def generator_features(G, G_variables, detector: Detector, mesh, num_gen: int, labels: np.ndarray | None = None,
                       capture_all: bool = False, capture_mean_cov: bool = False, batch_size: int = 64,
                       seed: int = 0, truncation_psi: float = 1.0, progress: bool = True) -> FeatureStats:
  """Features of ``num_gen`` generator samples: z ~ N(0, I), labels drawn from the dataset's, random noise.

  As the official metrics: ``G(z, c)`` with truncation 1 and ``noise_mode='random'``,
  images converted to uint8 exactly as saved PNGs would be.
  """
  stats = FeatureStats(capture_all=capture_all, capture_mean_cov=capture_mean_cov, max_items=num_gen)
  per_step = round_up(batch_size, mesh.size)

  def sample_features(g_vars, d_vars, z, c, seeds):
    images = generator_images(G, g_vars, z, c, seeds, truncation_psi, noise_mode='random')
    return detector.apply(d_vars, _to_rgb(images))

  run = jit_once(detector.compiled, ('generator', G, mesh, truncation_psi),
                 lambda: jax.jit(sample_features, out_shardings=batch_sharding(mesh)))
  g_vars = jax.device_put(G_variables, replicated(mesh))
  d_vars = jax.device_put(detector.variables, replicated(mesh))
  rng = np.random.RandomState(seed)
  with tqdm(total=num_gen, desc=f'generated images ({detector.name})', unit='img', disable=not progress) as bar:
    while not stats.is_full():
      z = rng.randn(per_step, G.z_dim).astype(np.float32)
      c = draw_labels(rng, labels, per_step, G.c_dim)
      keys = rng.randint(0, 2 ** 31, size=(per_step,)).astype(np.uint32)
      features = run(g_vars, d_vars, *(global_batch(mesh, a) for a in (z, c, keys)))
      before = stats.num_items
      stats.append(fetch_global(features))
      bar.update(stats.num_items - before)
  return stats

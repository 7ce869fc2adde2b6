"""The metric formulas of ``stylegan2-ada-pytorch/metrics/*.py`` on feature arrays (numpy, float64 where it matters).

Feature extraction is elsewhere (``inception.py``, ``lpips.py``, ``features.py``);
these functions only see features, probabilities or distances.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg


class FeatureStats:
  """Streaming feature statistics: running sums for mean/covariance, optionally every feature kept.

  ``max_items`` stops accepting features once reached (``is_full``), as the official
  ``FeatureStats``; the sums are float64 so 50k features add up without drift.
  """

  def __init__(self, capture_all: bool = False, capture_mean_cov: bool = False, max_items: int | None = None):
    self.capture_all, self.capture_mean_cov, self.max_items = capture_all, capture_mean_cov, max_items
    self.num_items = 0
    self.num_features: int | None = None
    self.all_features: list[np.ndarray] = []
    self.raw_mean: np.ndarray | None = None
    self.raw_cov: np.ndarray | None = None

  def is_full(self) -> bool:
    """True once ``max_items`` features were appended."""
    return self.max_items is not None and self.num_items >= self.max_items

  def append(self, x: np.ndarray) -> None:
    """Adds a [N, F] batch (the part beyond ``max_items`` is dropped)."""
    x = np.asarray(x, np.float32)
    if self.max_items is not None:
      x = x[:max(self.max_items - self.num_items, 0)]
    if self.num_features is None:
      self.num_features = x.shape[1]
      if self.capture_mean_cov:
        self.raw_mean = np.zeros(self.num_features, np.float64)
        self.raw_cov = np.zeros((self.num_features, self.num_features), np.float64)
    if x.shape[0] == 0:
      return
    self.num_items += x.shape[0]
    if self.capture_all:
      self.all_features.append(x)
    if self.capture_mean_cov:
      x64 = x.astype(np.float64)
      self.raw_mean += x64.sum(axis=0)
      self.raw_cov += x64.T @ x64

  def get_all(self) -> np.ndarray:
    """Every captured feature, [N, F] float32."""
    assert self.capture_all
    return np.concatenate(self.all_features) if self.all_features else np.zeros((0, self.num_features or 0))

  def get_mean_cov(self) -> tuple[np.ndarray, np.ndarray]:
    """(mean [F], covariance [F, F]) with the official 1/N normalisation."""
    assert self.capture_mean_cov
    mean = self.raw_mean / self.num_items
    return mean, self.raw_cov / self.num_items - np.outer(mean, mean)

  def state(self) -> dict:
    """Arrays to cache (npz) and restore with :meth:`from_state`."""
    out = dict(num_items=np.int64(self.num_items), num_features=np.int64(self.num_features or 0))
    if self.capture_mean_cov:
      out.update(raw_mean=self.raw_mean, raw_cov=self.raw_cov)
    if self.capture_all:
      out.update(all_features=self.get_all())
    return out

  @classmethod
  def from_state(cls, state: dict) -> 'FeatureStats':
    """Rebuilds statistics cached with :meth:`state`."""
    stats = cls(capture_all='all_features' in state, capture_mean_cov='raw_mean' in state)
    stats.num_items, stats.num_features = int(state['num_items']), int(state['num_features'])
    if stats.capture_mean_cov:
      stats.raw_mean, stats.raw_cov = np.asarray(state['raw_mean']), np.asarray(state['raw_cov'])
    if stats.capture_all:
      stats.all_features = [np.asarray(state['all_features'])]
    return stats


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
  """FID: ``|mu1 - mu2|^2 + tr(S1 + S2 - 2 sqrtm(S1 S2))`` (scipy's sqrtm, real part, as the official code)."""
  m = np.square(mu1 - mu2).sum()
  s = scipy.linalg.sqrtm(np.dot(sigma1, sigma2))
  return float(np.real(m + np.trace(sigma1 + sigma2 - s * 2)))


def kernel_inception_distance(real: np.ndarray, gen: np.ndarray, num_subsets: int = 100,
                              max_subset_size: int = 1000, seed: int = 0) -> float:
  """KID: the unbiased MMD^2 with the cubic polynomial kernel, averaged over random subsets (official)."""
  rng = np.random.RandomState(seed)
  real, gen = np.asarray(real, np.float64), np.asarray(gen, np.float64)
  n = real.shape[1]
  m = min(real.shape[0], gen.shape[0], max_subset_size)
  t = 0.0
  for _ in range(num_subsets):
    x = gen[rng.choice(gen.shape[0], m, replace=False)]
    y = real[rng.choice(real.shape[0], m, replace=False)]
    a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
    b = (x @ y.T / n + 1) ** 3
    t += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
  return float(t / num_subsets / m)


def _pairwise_distances(rows: jnp.ndarray, cols: jnp.ndarray) -> jnp.ndarray:
  sq = (jnp.sum(rows * rows, 1)[:, None] + jnp.sum(cols * cols, 1)[None, :]
        - 2 * jnp.matmul(rows, cols.T, precision=jax.lax.Precision.HIGHEST))
  return jnp.sqrt(jnp.maximum(sq, 0))


@functools.partial(jax.jit, static_argnums=2)
def _kth_neighbour_distance(rows, manifold, k):
  return -jax.lax.top_k(-_pairwise_distances(rows, manifold), k + 1)[0][:, k]  # k + 1: a row is its own neighbour


@jax.jit
def _inside_manifold(probes, manifold, kth):
  return jnp.any(_pairwise_distances(probes, manifold) <= kth[None, :], axis=1)


def precision_recall(real: np.ndarray, gen: np.ndarray, nhood_size: int = 3, row_batch_size: int = 2000
                     ) -> tuple[float, float]:
  """Improved precision and recall (Kynkaanniemi et al. 2019): k-NN manifolds of each set, as the official code.

  Precision: the fraction of generated features inside the real manifold (within the
  ``nhood_size``-th neighbour distance of some real feature); recall the other way round.
  Distances are float32 (the official code rounds them to float16).
  """
  results = []
  for manifold, probes in ((real, gen), (gen, real)):
    manifold = jnp.asarray(manifold, jnp.float32)
    probes = np.asarray(probes, np.float32)
    kth = jnp.concatenate([_kth_neighbour_distance(manifold[i:i + row_batch_size], manifold, nhood_size)
                           for i in range(0, manifold.shape[0], row_batch_size)])
    inside = np.concatenate([np.asarray(_inside_manifold(jnp.asarray(probes[i:i + row_batch_size]), manifold, kth))
                             for i in range(0, probes.shape[0], row_batch_size)])
    results.append(float(inside.mean()))
  return results[0], results[1]


def inception_score(probs: np.ndarray, num_splits: int = 10) -> tuple[float, float]:
  """(mean, std) over splits of ``exp(E[KL(p(y|x) || p(y))])`` (official ``inception_score.py``)."""
  probs = np.asarray(probs, np.float64)
  n = probs.shape[0]
  scores = []
  for i in range(num_splits):
    part = probs[i * n // num_splits:(i + 1) * n // num_splits]
    kl = part * (np.log(part) - np.log(np.mean(part, axis=0, keepdims=True)))
    scores.append(np.exp(np.mean(np.sum(kl, axis=1))))
  return float(np.mean(scores)), float(np.std(scores))


def path_length_from_distances(dist: np.ndarray) -> float:
  """PPL: the mean of the per-sample distances between their 1st and 99th percentiles (official filtering)."""
  dist = np.asarray(dist, np.float64)
  lo = np.percentile(dist, 1, method='lower')
  hi = np.percentile(dist, 99, method='higher')
  return float(np.extract(np.logical_and(dist >= lo, dist <= hi), dist).mean())

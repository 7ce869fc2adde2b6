"""The training input pipeline: deterministic order, per-process slices, x-flips, resume, a run on a prepared dataset."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stylegan2_jax.cli import main as cli_main
from stylegan2_jax.data.batches import Batches
from stylegan2_jax.data.sources import ArraySource
from stylegan2_jax.training.loop import train_and_evaluate
from configs.demo import get_config


def _source(n=10, labels=True):
  images = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 1, 2, 3), np.uint8)
  images[:, :, :, 0] += 100  # left column marks the orientation
  return ArraySource(images, np.arange(n) % 3 if labels else None)


def _take(batches, count):
  return [next(batches) for _ in range(count)]


def test_every_epoch_is_a_permutation_and_processes_read_their_slices():
  source = _source()
  whole = _take(Batches(source, 4, seed=1, conditional=True), 10)  # 40 samples = 4 epochs
  ids = np.concatenate([images[:, 0, 0, 1] for images, _ in whole])
  for epoch in range(4):
    assert sorted(ids[epoch * 10:(epoch + 1) * 10]) == list(range(10))
  assert not np.array_equal(ids[:10], ids[10:20])  # reshuffled per epoch
  for images, labels in whole:
    np.testing.assert_array_equal(labels.argmax(1), images[:, 0, 0, 1] % 3)
    assert labels.shape == (4, 3) and labels.dtype == np.float32
  halves = [_take(Batches(source, 4, seed=1, conditional=True, process_index=p, process_count=2), 10)
            for p in range(2)]
  for b, (images, labels) in enumerate(whole):
    np.testing.assert_array_equal(np.concatenate([halves[0][b][0], halves[1][b][0]]), images)
    np.testing.assert_array_equal(np.concatenate([halves[0][b][1], halves[1][b][1]]), labels)
  other_seed = np.concatenate([images[:, 0, 0, 1] for images, _ in _take(Batches(source, 4, seed=2), 3)])
  assert not np.array_equal(other_seed, ids[:12])


def test_resume_continues_the_same_stream_and_xflip_flips_about_half():
  source = _source(labels=False)
  straight = _take(Batches(source, 4, seed=3, xflip=True), 8)
  first = Batches(source, 4, seed=3, xflip=True)
  _take(first, 5)
  resumed = Batches(source, 4, seed=3, xflip=True)
  resumed.set_state(first.get_state())
  for (a, la), (b, lb) in zip(straight[5:], _take(resumed, 3)):
    np.testing.assert_array_equal(a, b)
    assert la is None and lb is None
  flipped = np.concatenate([images[:, 0, 0, 0] != 100 + images[:, 0, 0, 1] for images, _ in straight])
  assert 0.2 < flipped.mean() < 0.8
  unflipped = np.concatenate([images for images, _ in _take(Batches(source, 4, seed=3), 8)])
  assert (unflipped[:, 0, :, 0] >= 100).all()


def test_conditional_needs_labels():
  with pytest.raises(ValueError, match='needs labels'):
    Batches(_source(labels=False), 4, seed=0, conditional=True)


def test_training_on_a_prepared_image_folder(tmp_path):
  rng = np.random.RandomState(0)
  for label in ('a', 'b'):
    (tmp_path / 'raw' / label).mkdir(parents=True)
    for i in range(3):
      Image.fromarray(rng.randint(0, 256, (24, 20, 3), np.uint8)).save(tmp_path / 'raw' / label / f'{i}.png')
  assert cli_main(['dataset', 'images', '--source', str(tmp_path / 'raw'), '--resolution', '16', '--labels',
                   '--name', 'ab', '--data-dir', str(tmp_path / 'data')]) == 0
  dataset = tmp_path / 'data' / 'stylegan2_images' / 'ab' / '1.0.0'
  config = get_config('tiny')
  config.update(dataset=str(dataset), conditional=True, total_kimg=0.016, xflip=True)
  state = train_and_evaluate(config, tmp_path / 'run')
  assert int(state.nimg) == 16
  assert state.G['params']['mapping']['embed']['weight'].shape[1] == 2  # 2 classes from the folders
  assert list((tmp_path / 'run').glob('samples_*.png'))

"""Batches prefetched to the devices: the same batches in the same order, the position of those used, errors, shutdown."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from stylegan2_jax.data.batches import Batches
from stylegan2_jax.data.sources import ArraySource
from stylegan2_jax.sharding import batch_sharding, data_mesh
from stylegan2_jax.training.device_feed import DeviceBatches


def _batches(position=0):
  images = np.arange(12, dtype=np.uint8)[:, None, None, None] * np.ones((1, 1, 2, 2), np.uint8)
  batches = Batches(ArraySource(images, np.arange(12) % 3), 4, seed=3, conditional=True, num_threads=2)
  batches.set_state(dict(position=position))
  return batches


def _host(batch):
  return tuple(None if x is None else np.asarray(x) for x in batch)


@pytest.mark.parametrize('depth', [0, 1, 3])
def test_same_batches_as_the_host_iterator_and_the_position_of_those_used(depth):
  host = _batches()
  expected = [next(host) for _ in range(7)]
  feed = DeviceBatches(_batches(), batch_sharding(data_mesh()), depth)
  try:
    for i in range(5):
      images, labels = _host(next(feed))
      np.testing.assert_array_equal(images, expected[i][0])
      np.testing.assert_array_equal(labels, expected[i][1])
      assert feed.get_state() == dict(position=i + 1)  # not the batches read ahead
    assert feed.batches.get_state()['position'] >= 5
  finally:
    feed.close()
  resumed = DeviceBatches(_batches(position=5), batch_sharding(data_mesh()), depth)
  try:
    for i in (5, 6):
      np.testing.assert_array_equal(_host(next(resumed))[0], expected[i][0])
    assert resumed.get_state() == dict(position=7)
  finally:
    resumed.close()


def test_the_reader_stays_within_its_depth_and_stops_on_close():
  batches, served = _batches(), []
  class Counting:
    def get_state(self):
      return batches.get_state()
    def __next__(self):
      served.append(1)
      return next(batches)
  feed = DeviceBatches(Counting(), batch_sharding(data_mesh()), depth=2)
  next(feed)
  thread = feed._thread  # pylint: disable=protected-access
  for _ in range(1000):  # until the queue is full: 2 waiting, 1 blocked on the queue, 1 used
    if len(served) >= 4:
      break
    threading.Event().wait(0.01)
  assert len(served) <= 4
  feed.close()
  assert not thread.is_alive()


def test_a_reading_error_is_raised_on_the_loops_thread():
  class Failing:
    def get_state(self):
      return dict(position=0)
    def __next__(self):
      raise ValueError('demo.zip: image 3 is not a PNG')
  feed = DeviceBatches(Failing(), batch_sharding(data_mesh()), depth=2)
  for _ in range(2):  # and again on the next call
    with pytest.raises(ValueError, match='^demo.zip: image 3 is not a PNG$'):
      next(feed)
  feed.close()

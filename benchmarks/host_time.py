"""Host time of the training loop's thread per step: batches, dispatch, checkpoint saves, sample grids.

    python -m benchmarks.host_time                    # demo tiny config, 8 forced CPU devices, both modes
    python -m benchmarks.host_time --steps 48 --modes after

Runs the real loop (``train_and_evaluate``) on ``configs/demo.py:tiny`` (4 images
per device) with a tick every 2 steps and a checkpoint and a sample grid every 4, once per mode, and prints one JSON
line per mode:

- ``before``: ``device_prefetch=0, background_writes=False`` (batches copied to
  the devices, checkpoints and grids written, on the loop's thread);
- ``after``: the defaults (``device_prefetch=2, background_writes=True``).

It measures the loop thread's own CPU seconds (``time.thread_time``), which
other jobs on a shared host disturb much less than wall time: per step over the
steps after the first checkpoint (compiles excluded), and per call for getting a
batch, a checkpoint save and a sample grid; wall seconds beside them. On CPU the
devices compute on XLA's threads, so the loop thread's CPU time is host work only.
"""

from __future__ import annotations

import os

if __name__ == '__main__' and 'xla_force_host_platform_device_count' not in os.environ.get('XLA_FLAGS', ''):
  os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') + ' --xla_force_host_platform_device_count=8').strip()

import argparse  # pylint: disable=wrong-import-position
import contextlib  # pylint: disable=wrong-import-position
import json  # pylint: disable=wrong-import-position
import platform  # pylint: disable=wrong-import-position
import statistics  # pylint: disable=wrong-import-position
import sys  # pylint: disable=wrong-import-position
import tempfile  # pylint: disable=wrong-import-position
import threading  # pylint: disable=wrong-import-position
import time  # pylint: disable=wrong-import-position

import jax  # pylint: disable=wrong-import-position

from configs.demo import get_config  # pylint: disable=wrong-import-position
from stylegan2_jax.training import loop  # pylint: disable=wrong-import-position
from stylegan2_jax.training.checkpoints import Checkpointer  # pylint: disable=wrong-import-position
from stylegan2_jax.training.device_feed import DeviceBatches  # pylint: disable=wrong-import-position
from stylegan2_jax.training.io import RunLogger  # pylint: disable=wrong-import-position
from stylegan2_jax.training.steps import TrainSteps  # pylint: disable=wrong-import-position

MODES = {'before': dict(device_prefetch=0, background_writes=False),
         'after': dict(device_prefetch=2, background_writes=True)}


class _Timings:
  """Wall and loop-thread CPU seconds of wrapped calls, and the loop thread's CPU clock at each step."""

  def __init__(self):
    self.calls: dict[str, list[tuple[float, float]]] = {}
    self.step_marks: list[tuple[int, float, float]] = []  # (step, thread CPU, wall) when a step's first phase starts
    self.loop_thread = None

  def wrap(self, owner, name: str, key: str):
    original = getattr(owner, name)
    def timed(*args, **kwargs):
      if threading.current_thread() is not self.loop_thread:
        return original(*args, **kwargs)
      cpu, wall = time.thread_time(), time.perf_counter()
      try:
        return original(*args, **kwargs)
      finally:
        self.calls.setdefault(key, []).append((time.perf_counter() - wall, time.thread_time() - cpu))
    setattr(owner, name, timed)
    return original


def run_mode(mode: str, steps: int, workdir: str) -> dict:
  """Trains ``steps`` steps of the tiny demo in ``mode``; the loop thread's time per step and per call."""
  config = get_config('tiny')
  config.batch_size = 4 * jax.device_count()  # 4 images per device (the tiny config's 8 do not split over 8 devices)
  kimg_per_step = config.batch_size / 1000
  config.update(total_kimg=steps * kimg_per_step, kimg_per_tick=2 * kimg_per_step, checkpoint_kimg=4 * kimg_per_step,
                image_kimg=4 * kimg_per_step, keep_checkpoints=2, **MODES[mode])
  timings = _Timings()
  timings.loop_thread = threading.main_thread()
  originals = [(DeviceBatches, '__next__', timings.wrap(DeviceBatches, '__next__', 'batch')),
               (Checkpointer, 'save', timings.wrap(Checkpointer, 'save', 'checkpoint_save')),
               (RunLogger, 'image', timings.wrap(RunLogger, 'image', 'sample_grid'))]
  run_phase = TrainSteps.run_phase

  def marked(self, phase, state, *args):
    if phase == 'Gmain':  # every step starts with Gmain
      timings.step_marks.append((len(timings.step_marks), time.thread_time(), time.perf_counter()))
    return run_phase(self, phase, state, *args)
  TrainSteps.run_phase = marked
  try:
    with contextlib.redirect_stdout(sys.stderr):  # the run's progress lines; stdout is for the JSON
      loop.train_and_evaluate(config, workdir)
  finally:
    TrainSteps.run_phase = run_phase
    for owner, name, original in originals:
      setattr(owner, name, original)
  first = 5  # after the first checkpoint (step 4) and grid: every function compiled
  (s0, cpu0, wall0), (s1, cpu1, wall1) = timings.step_marks[first], timings.step_marks[-1]
  per_step_cpu = [b[1] - a[1] for a, b in zip(timings.step_marks[first:], timings.step_marks[first + 1:])]

  def summary(key: str, skip: int) -> dict:
    calls = timings.calls.get(key, [])[skip:]
    return dict(calls=len(calls), wall_s=round(statistics.median(c[0] for c in calls), 5),
                cpu_s=round(statistics.median(c[1] for c in calls), 5)) if calls else {}
  return dict(
      mode=mode, **MODES[mode], steps=steps, measured_steps=s1 - s0,
      loop_thread_cpu_s_per_step=round((cpu1 - cpu0) / (s1 - s0), 5),
      loop_thread_cpu_s_per_step_median=round(statistics.median(per_step_cpu), 5),
      wall_s_per_step=round((wall1 - wall0) / (s1 - s0), 4),
      batch=summary('batch', first),  # per call, median
      checkpoint_save=summary('checkpoint_save', 1),  # the first save compiles the finiteness check
      sample_grid=summary('sample_grid', 1))


def main() -> None:
  """Prints one JSON line per mode."""
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--steps', type=int, default=32, help='training steps per mode (a checkpoint every 4)')
  parser.add_argument('--modes', default='before,after', help='comma-separated: before, after')
  args = parser.parse_args()
  for mode in args.modes.split(','):
    with tempfile.TemporaryDirectory(prefix=f'host_time_{mode}_') as workdir:
      result = run_mode(mode, args.steps, workdir)
    print(json.dumps(dict(result, devices=jax.device_count(), backend=jax.default_backend(),
                          machine=f'{os.cpu_count()}-core {platform.machine()}', jax=jax.__version__)), flush=True)


if __name__ == '__main__':
  main()

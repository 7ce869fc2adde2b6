"""``train_and_evaluate(config, workdir)``: the official StyleGAN2 training loop on a device mesh.

Data flows one way: config -> dataset -> sharded global batches -> jitted
phase steps (``steps.py``) over the replicated state -> checkpoints,
``metrics.jsonl``, TensorBoard events and sample grids in ``workdir``.
Restarting the same command on the same workdir resumes from the newest
complete checkpoint, bit for bit.

The loop's own thread only dispatches steps: batches are copied to the devices
ahead of it (``device_prefetch``, ``device_feed.py``), and with
``background_writes`` checkpoints and sample grids are written on other threads.
Every way out of the loop (the end, SIGTERM, divergence, an error) waits for
those writes before returning.
"""

from __future__ import annotations

import json
import math
import pathlib
import signal
import sys
import time
from typing import Callable

import jax
import ml_collections
import numpy as np

from stylegan2_jax.data.batches import Batches
from stylegan2_jax.data.datasets import load_dataset
from stylegan2_jax.data.sources import random_subset
from stylegan2_jax.files import write_text_atomically
from stylegan2_jax.sharding import batch_sharding, data_mesh, replicated
from stylegan2_jax.training import augmentation, state as train_state
from stylegan2_jax.training.build import build_training
from stylegan2_jax.training.checkpoints import Checkpointer, non_finite_fields
from stylegan2_jax.training.device_feed import DeviceBatches
from stylegan2_jax.training.config import ADDED_FIELDS, DATA_DERIVED_KEYS, RESUMABLE_CHANGES, validate_config
from stylegan2_jax.training.io import RunLogger, check_writable_workdir, init_weights, sample_grid_fn
from stylegan2_jax.training.metrics import TrainingMetrics, write_best
from stylegan2_jax.training.runs import write_networks_json

class TrainingDivergedError(RuntimeError):
  """A loss became NaN or Inf; the last good checkpoint is kept."""


class ConfigMismatchError(ValueError):
  """The workdir holds a run of a different config."""


##### the workdir #################################################################################

def check_workdir_config(workdir: pathlib.Path, config: ml_collections.ConfigDict) -> dict:
  """Saves the config on the first start; on a restart refuses a different config.

  A restart may change the settings in ``RESUMABLE_CHANGES`` (e.g. lower rates
  after a NaN): ``config.json`` then holds the new values, so that it always says
  how the run trains now. Returns ``{key: (the run's value, the new value)}`` for
  those changes.
  """
  path = workdir / 'config.json'
  current = json.loads(config.to_json())
  if not path.exists():
    if jax.process_index() == 0:
      workdir.mkdir(parents=True, exist_ok=True)
      write_text_atomically(path, json.dumps(current, indent=2, sort_keys=True))
    return {}
  saved = json.loads(path.read_text())
  for net in ('G', 'D'):  # runs written before these became data-derived recorded them in the config
    for key in DATA_DERIVED_KEYS:
      (saved.get(net) or {}).pop(key, None)
  for key, value in ADDED_FIELDS.items():  # runs written before these existed did what these values do
    saved.setdefault(key, value)
  keys = sorted(set(saved) | set(current))
  differ = [k for k in keys if k not in RESUMABLE_CHANGES and saved.get(k) != current.get(k)]
  if differ:
    details = '; '.join(f'{k}: {saved.get(k)!r} in the run, {current.get(k)!r} now' for k in differ)
    raise ConfigMismatchError(f'{workdir} holds a run of a different config ({details}); use a new --workdir '
                              'or the run\'s own settings')
  changed = {k: (saved.get(k), current.get(k)) for k in keys if saved.get(k) != current.get(k)}
  if changed and jax.process_index() == 0:  # atomically: other processes may be reading it
    write_text_atomically(path, json.dumps(current, indent=2, sort_keys=True))
  return changed


def wait_for_all_processes(name: str, timeout_s: int = 1800) -> None:
  """Waits until every process reaches this point (a barrier of jax's coordination service).

  The CPU collectives set up their Gloo context at the first collective and give
  up when a process arrives more than 30 s after another, which a busy host
  (dataset threads, compiles) can take; waiting here first makes that start
  together. Without the coordination client (one process) it returns at once.
  """
  from jax._src import distributed  # pylint: disable=import-outside-toplevel
  client = getattr(distributed.global_state, 'client', None)
  if client is not None and hasattr(client, 'wait_at_barrier'):
    client.wait_at_barrier(name, timeout_s * 1000)


def check_shared_workdir(workdir: pathlib.Path) -> None:
  """Multi-process runs: every process must see what process 0 writes (a filesystem all hosts share)."""
  from jax.experimental import multihost_utils
  wait_for_all_processes('stylegan2_jax: workdir config written')
  multihost_utils.sync_global_devices('workdir config written')
  seen = np.asarray(multihost_utils.process_allgather(np.asarray((workdir / 'config.json').exists())))
  blind = [i for i, ok in enumerate(seen.reshape(-1)) if not ok]
  if blind:
    raise ValueError(f'processes {blind} do not see {workdir / "config.json"}, which process 0 wrote: --workdir '
                     'must be on a filesystem every host shares (NFS, Filestore, a gcsfuse mount)')


##### the loop ###################################################################################

def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | pathlib.Path,
                       network_loader: Callable[[str], dict] | None = None) -> train_state.TrainState:
  """Trains until ``config.total_kimg``; resumes from ``workdir`` if it holds checkpoints. Returns the state.

  ``network_loader(path) -> {'G': LoadedNetwork, ...}`` reads ``config.init_from``
  for a new run (the train command passes :func:`stylegan2_jax.loading.load_networks`,
  which reads every network format and workdir).
  """
  workdir = pathlib.Path(workdir)
  mesh = data_mesh()
  validate_config(config, mesh.size, jax.process_count())
  check_writable_workdir(workdir)
  if config.init_from and network_loader is None:
    raise ValueError('--config.init_from needs a network_loader (e.g. stylegan2_jax.loading.load_networks)')
  source = random_subset(load_dataset(config.dataset, config.resolution, config.data_dir), config.max_images,
                         config.seed)
  batches = Batches(source, config.batch_size, config.seed, config.xflip, config.conditional,
                    jax.process_index(), jax.process_count(), config.data_threads, config.data_prefetch)
  changed = check_workdir_config(workdir, config)
  if jax.process_count() > 1:
    check_shared_workdir(workdir)
  training = build_training(config, mesh, source.channels, batches.num_classes)
  G, D, steps = training.G, training.D, training.steps
  if jax.process_index() == 0:
    write_networks_json(workdir, G, D)
  checkpointer = Checkpointer(workdir, config.keep_checkpoints, background=config.background_writes)
  logger = RunLogger(workdir, enabled=jax.process_index() == 0, background_images=config.background_writes)
  if changed:
    logger.info('settings changed since the run was last started (config.json now has the new ones): '
                + ', '.join(f'{k} {old!r} -> {new!r}' for k, (old, new) in changed.items()))

  abstract = training.abstract_state(replicated(mesh))
  meta = dict(tick=0, image_nimg=0, checkpoint_nimg=0)
  def restore(step):
    state, meta = checkpointer.restore(step, abstract)
    batches.set_state(meta['data'])
    return state, meta

  newest = checkpointer.newest_intact(restore, logger.info)  # damaged ones are named, then skipped
  if newest is not None:
    latest, (state, meta) = newest
    for path in checkpointer.set_aside([s for s in checkpointer.all_steps() if s > latest]):
      logger.info(f'set the damaged checkpoint aside: moved it to {path}')
    logger.info(f'resuming from the checkpoint at step {latest} ({int(state.nimg) / 1000:.1f} kimg) in {workdir}')
    if int(state.nimg) >= int(config.total_kimg * 1000):
      logger.info(f'the run has reached --config.total_kimg={config.total_kimg}: nothing to train')
  else:
    init = init_weights(config.init_from, G, D, logger, network_loader) if config.init_from else None
    state = jax.jit(training.create_state, out_shardings=replicated(mesh))(jax.random.PRNGKey(config.seed), init)
    logger.info(f'new run in {workdir}: G {_count(state.G["params"])} and D {_count(state.D["params"])} '
                f'parameters, {len(source)} images ({source.description}), {mesh.size} devices, '
                f'{jax.process_count()} processes')
  logger.drop_records_after(int(state.step))  # ticks logged after the checkpoint will be logged again

  sample_grid = sample_grid_fn(G, config, mesh)
  evaluator = TrainingMetrics(config, G, source, mesh, logger)
  feed = DeviceBatches(batches, batch_sharding(mesh), config.device_prefetch)  # starts reading ahead
  stop = {'signal': None}
  previous_handler = _install_sigterm(stop)
  try:
    state = _loop(config, state, meta, steps, feed, checkpointer, logger, sample_grid, evaluator, stop)
  finally:
    if previous_handler is not None:
      signal.signal(signal.SIGTERM, previous_handler)
    _close_all((feed.close, checkpointer.close, logger.close), logger)
  return state


def _close_all(closers, logger) -> None:
  """Runs every closer (each waits for its thread's work); raises the first error, unless one is on its way out."""
  leaving_with_error = sys.exc_info()[1] is not None
  errors = []
  for close in closers:
    try:
      close()
    except Exception as e:  # pylint: disable=broad-except  (the others must still finish their writes)
      errors.append(e)
  if errors and leaving_with_error:  # the loop's own error is the one to report; say what else went wrong
    for e in errors:
      logger.info(f'while stopping: {type(e).__name__}: {e}')
  elif errors:
    raise errors[0]


def _loop(config, state, meta, steps, feed, checkpointer, logger, sample_grid, evaluator, stop):
  total_nimg = int(config.total_kimg * 1000)
  step, nimg = int(state.step), int(state.nimg)
  tick_start_nimg, tick_start_time, tick_metrics = nimg, time.time(), []
  start_time = time.time()
  last_good_step = step

  def save(reason: str):
    bad = non_finite_fields(state)  # the tick's losses were finite, but its last update may not have been
    if bad:
      checkpointer.wait()  # the previous checkpoint, if still being written, is the one kept
      kept = checkpointer.latest_step()
      raise TrainingDivergedError(f'non-finite {", ".join(bad)} at step {step}; not saved: ' + (
          f'the last good checkpoint (step {kept}) is kept in {checkpointer.directory}' if kept is not None
          else 'no checkpoint was saved before') + ' (lower the learning rates or r1_gamma)')
    if evaluator.enabled and reason != 'SIGTERM':  # as the official loop: metrics at every snapshot
      meta['best'] = evaluator.evaluate(state.G_ema, step, nimg, meta.get('best'))
    checkpointer.keep_step = (meta.get('best') or {}).get('step')
    meta.update(data=feed.get_state(), checkpoint_nimg=nimg, step=step, nimg=nimg)  # the batches used, not read
    best, saved = meta.get('best'), f'saved checkpoint at step {step} ({nimg / 1000:.1f} kimg, {reason})'

    def on_disk():  # best.json names only checkpoints that are complete on disk
      if best and jax.process_index() == 0:
        write_best(logger.workdir, best)
      logger.info(saved)
    checkpointer.save(step, state, meta, on_complete=on_disk)

  while nimg < total_nimg and stop['signal'] is None:
    real_img, real_c = next(feed)
    metrics = {}
    for phase in steps.phases_at(step):
      state, phase_metrics = steps.run_phase(phase, state, real_img, real_c)
      metrics.update({f'{phase}/{k}': v for k, v in phase_metrics.items()})
    tick_metrics.append(metrics)
    step, nimg = step + 1, nimg + config.batch_size
    if steps.ada_due(step):
      state = steps.ada_adjust(state)
    done = nimg >= total_nimg
    if nimg < tick_start_nimg + config.kimg_per_tick * 1000 and not done and stop['signal'] is None:
      continue

    # A tick: check, log, write images and checkpoints.
    values = jax.device_get(tick_metrics)
    means = {k: float(np.mean([m[k] for m in values if k in m])) for k in sorted({k for m in values for k in m})}
    bad = sorted(k for k, v in means.items() if not math.isfinite(v))
    if bad:
      raise TrainingDivergedError(
          f'non-finite {", ".join(bad)} between step {last_good_step} and {step}; stopped without saving. '
          f'The last good checkpoint is kept in {checkpointer.directory} (lower the learning rates or r1_gamma).')
    last_good_step = step
    now = time.time()
    tick_nimg = nimg - tick_start_nimg
    meta['tick'] += 1
    until_ckpt = max(0.0, meta.get('checkpoint_nimg', 0) + config.checkpoint_kimg * 1000 - nimg)
    record = dict(tick=meta['tick'], step=step, kimg=nimg / 1000, sec_per_kimg=(now - tick_start_time) / tick_nimg * 1000,
                  img_per_sec=tick_nimg / (now - tick_start_time), time=now - start_time,
                  pl_mean=float(state.pl_mean), sec_to_checkpoint=until_ckpt * (now - tick_start_time) / tick_nimg,
                  **_augment_record(state, values), **means)
    logger.tick(record)
    checkpointer.poll()  # a checkpoint written in the background meanwhile: best.json and its log line
    tick_start_nimg, tick_start_time, tick_metrics = nimg, now, []

    if done or nimg - meta.get('image_nimg', 0) >= config.image_kimg * 1000:
      logger.image(f'samples_{nimg:09d}.png', sample_grid(state.G_ema), step)  # named by images shown
      meta['image_nimg'] = nimg
    if done or stop['signal'] is not None or nimg - meta.get('checkpoint_nimg', 0) >= config.checkpoint_kimg * 1000:
      save('end of training' if done else ('SIGTERM' if stop['signal'] is not None else 'interval'))
    tick_start_time = time.time()  # images, checkpoints and metrics do not count towards the next tick's speed
  checkpointer.wait()
  if stop['signal'] is not None:
    logger.info('stopped by SIGTERM; run the same command again to resume')
  return state


def _augment_record(state, tick_metrics) -> dict:
  """``augment_p`` (when augmenting) and ``rt`` (mean sign of D on the reals over the tick) for the tick record."""
  record = {} if state.augment_p is None else dict(augment_p=float(state.augment_p))
  rt = augmentation.tick_rt(tick_metrics)
  return record if rt is None else {**record, 'rt': rt}


def _count(tree) -> str:
  return f'{sum(x.size for x in jax.tree.leaves(tree)):,}'


def _install_sigterm(stop: dict):
  """SIGTERM sets ``stop['signal']``: the loop finishes the iteration, saves a checkpoint and returns."""
  def handler(signum, frame):
    del frame
    stop['signal'] = signum
  try:
    return signal.signal(signal.SIGTERM, handler)
  except ValueError:  # not the main thread: leave signals alone
    return None

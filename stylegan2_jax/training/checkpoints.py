"""Training checkpoints: a thin wrapper around an Orbax ``CheckpointManager`` in ``WORKDIR/checkpoints``.

Each checkpoint holds the whole :class:`~stylegan2_jax.training.state.TrainState` (G,
G_ema, D, both optimizer states, pl_mean, step/nimg, RNG) and a JSON item with
the data-iterator position and progress counters. Orbax writes into a
temporary directory and renames it when complete, so a checkpoint cut short by
a kill is never listed or loaded (and is cleaned up on the next start).

With ``background=True`` (the trainer's default) a save returns once the
state's arrays are copied off the devices, and Orbax writes and commits the
checkpoint on its own threads while training goes on; the next save, ``wait``
and ``close`` first wait for that write (and then run its ``on_complete``).
Older checkpoints are deleted only after the new one is committed, so a kill
during a background write leaves the previous checkpoint intact.

Besides the newest ``max_to_keep`` checkpoints, the one at ``keep_step`` (the
best snapshot by the run's first metric) is never deleted.

A checkpoint damaged after it was written (a file truncated or deleted, its
metadata missing) fails to restore; :meth:`Checkpointer.newest_intact` then
says so and falls back to the one before it. The trainer moves a damaged one
to ``WORKDIR/damaged_checkpoints/<step>`` (kept for inspection, out of Orbax's
sight, so the step can be saved again); readers leave it where it is.
"""

from __future__ import annotations

import copy
import dataclasses
import pathlib
import shutil
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from orbax.checkpoint.checkpoint_managers import preservation_policy

from stylegan2_jax.training.failed_reads import read_quietly


@dataclasses.dataclass
class _KeepStep:
  """Preservation policy: keep the checkpoint whose step ``owner.keep_step`` names."""
  owner: Any

  def should_preserve(self, checkpoints: Sequence[Any], *, context: Any) -> Sequence[bool]:
    del context
    return [info.step == self.owner.keep_step for info in checkpoints]


class DamagedCheckpointError(ValueError):
  """No checkpoint of a run (or not the one asked for) can be read back."""


def brief_error(error: BaseException) -> str:
  """The first line of an error, at most 200 characters (Orbax and TensorStore errors run to many lines)."""
  lines = str(error).strip().splitlines()
  line = lines[0].split(' See full TensorStore details')[0] if lines else ''
  return type(error).__name__ + (f': {line[:200]}' + ('...' if len(line) > 200 else '') if line else '')


@jax.jit
def _all_finite(arrays):
  return jnp.stack([jnp.all(jnp.isfinite(x)) for x in arrays])


def non_finite_fields(state: Any) -> list[str]:
  """The top-level fields of a state pytree (e.g. ``'D'``, ``'pl_mean'``) holding a NaN or Inf, in order."""
  leaves, _ = jax.tree_util.tree_flatten_with_path(state)
  floats = [(path, x) for path, x in leaves if jnp.issubdtype(x.dtype, jnp.floating)]
  finite = np.asarray(_all_finite([x for _, x in floats]))
  bad = [jax.tree_util.keystr(path[:1]).strip('.[]\'"') for (path, _), ok in zip(floats, finite) if not ok]
  return list(dict.fromkeys(bad))


class Checkpointer:
  """Saves and restores (state, meta) pairs by step; keeps the last ``max_to_keep`` and the one at ``keep_step``."""

  def __init__(self, workdir: str | pathlib.Path, max_to_keep: int = 3, read_only: bool = False,
               background: bool = False):
    """``read_only``: for readers of a run (generate, evaluate), which must not touch it, nor remove the
    temporary directory of a checkpoint the trainer is writing meanwhile. ``background``: saves return
    before the checkpoint is written (see the module docstring)."""
    self.directory = pathlib.Path(workdir).absolute() / 'checkpoints'
    self.keep_step: int | None = None
    self.background = background and not read_only
    self._on_complete: Callable[[], None] | None = None
    if read_only:
      # (not Orbax's read_only, which logs a warning each time; a reader never saves, so nothing is deleted)
      options = ocp.CheckpointManagerOptions(create=False, cleanup_tmp_directories=False,
                                             enable_async_checkpointing=False)
    else:
      policy = preservation_policy.AnyPreservationPolicy([preservation_policy.LatestN(n=max_to_keep),
                                                          _KeepStep(self)])
      options = ocp.CheckpointManagerOptions(preservation_policy=policy, create=True, cleanup_tmp_directories=True,
                                             enable_async_checkpointing=self.background)
    self.manager = ocp.CheckpointManager(self.directory, options=options, item_names=('state', 'meta'))

  def latest_step(self) -> int | None:
    """The step of the newest complete checkpoint, None if there is none."""
    return self.manager.latest_step()

  def all_steps(self) -> list[int]:
    """Steps of all complete checkpoints, oldest first."""
    return sorted(self.manager.all_steps())

  def save(self, step: int, state: Any, meta: dict, on_complete: Callable[[], None] | None = None) -> None:
    """Writes a checkpoint of ``(state, meta)`` at ``step``; all processes must call this.

    Waits for the previous write first. In the background mode it returns once
    the arrays are on the host and the write goes on meanwhile; otherwise when
    the checkpoint is complete. ``on_complete()`` runs on the calling thread once
    the checkpoint is on disk (at the latest in :meth:`wait` or :meth:`close`).
    Which old checkpoints go is decided now, from ``keep_step``; they are deleted
    once this one is committed.
    """
    self.wait()
    meta = copy.deepcopy(meta)  # the caller goes on changing its dict while the JSON is written
    self.manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)),
                      force=True)
    self._on_complete = on_complete
    if not self.background:
      self.wait()

  def wait(self) -> None:
    """Blocks until the pending write (if any) is committed, then runs its ``on_complete``; re-raises its error."""
    on_complete, self._on_complete = self._on_complete, None
    self.manager.wait_until_finished()
    if on_complete is not None:
      on_complete()

  def poll(self) -> None:
    """Runs the pending write's ``on_complete`` if it has finished (without waiting); re-raises its error."""
    if self._on_complete is not None and not self.manager.is_saving_in_progress():
      self.wait()

  def restore(self, step: int, abstract_state: Any) -> tuple[Any, dict]:
    """(state shaped and sharded like ``abstract_state``, meta) of the checkpoint at ``step``."""
    restored = self.manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state),
                                                                   meta=ocp.args.JsonRestore()))
    return restored['state'], dict(restored['meta'])

  def newest_intact(self, read: Callable[[int], Any], report: Callable[[str], None]) -> tuple[int, Any] | None:
    """``(step, read(step))`` of the newest checkpoint that ``read`` loads; None if there is none.

    Each damaged checkpoint (newest first) is named through ``report``; raises
    :class:`DamagedCheckpointError` if there are checkpoints but none can be read.
    """
    errors = []
    steps = self.all_steps()[::-1]
    for i, step in enumerate(steps):
      try:
        return step, read_quietly(read, step)
      except Exception as e:  # pylint: disable=broad-except  (Orbax/TensorStore raise many types for damaged files)
        errors.append(f'step {step}: {brief_error(e)}')
        after = f'loading step {steps[i + 1]}' if i + 1 < len(steps) else 'no older checkpoint'
        report(f'checkpoint {self.directory / str(step)} is damaged ({brief_error(e)}); {after}')
    if errors:
      raise DamagedCheckpointError(f'no intact checkpoint in {self.directory} (steps {", ".join(map(str, steps))}; '
                                   f'{errors[0]}): move the damaged ones aside, or train in a new --workdir')
    return None

  def set_aside(self, steps: Sequence[int]) -> list[pathlib.Path]:
    """Moves the checkpoints at ``steps`` to ``WORKDIR/damaged_checkpoints/`` (process 0); returns where.

    Orbax no longer lists them, so a step can be saved again. Call on every
    process of a multi-process run: they wait for each other around the move.
    """
    if not steps:
      return []
    multi = jax.process_count() > 1
    if multi:
      from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
      multihost_utils.sync_global_devices('damaged checkpoints read')
    moved = []
    for step in steps:
      target = self.directory.parent / 'damaged_checkpoints' / str(step)
      n = 1
      while target.exists():  # damaged at this step before
        n += 1
        target = target.with_name(f'{step}-{n}')
      if jax.process_index() == 0:
        target.parent.mkdir(exist_ok=True)
        shutil.move(str(self.directory / str(step)), str(target))
      moved.append(target)
    if multi:
      multihost_utils.sync_global_devices('damaged checkpoints moved')
    self.manager.reload()
    return moved

  def restore_parts(self, step: int, abstract_parts: dict) -> dict:
    """Only the top-level state fields ``abstract_parts`` names (e.g. ``{'G_ema': ...}``) of the checkpoint at ``step``.

    Reads just those arrays: loading a generator does not restore D or the optimizer states.
    """
    args = ocp.args.PyTreeRestore(item=abstract_parts, partial_restore=True, restore_args=jax.tree.map(
        lambda a: ocp.ArrayRestoreArgs(sharding=a.sharding, global_shape=a.shape, dtype=a.dtype), abstract_parts))
    with ocp.PyTreeCheckpointer() as checkpointer:
      return checkpointer.restore(self.directory / str(step) / 'state', args=args)

  def close(self) -> None:
    """Waits for the pending write (running its ``on_complete``) and releases the manager."""
    try:
      self.wait()
    finally:
      self.manager.close()

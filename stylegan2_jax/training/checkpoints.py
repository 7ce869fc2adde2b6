"""Training checkpoints: a thin wrapper around an Orbax ``CheckpointManager`` in ``WORKDIR/checkpoints``.

Each checkpoint holds the whole :class:`~stylegan2_jax.training.state.TrainState` (G,
G_ema, D, both optimizer states, pl_mean, step/nimg, RNG) and a JSON item with
the data-iterator position and progress counters. Orbax writes into a
temporary directory and renames it when complete, so a checkpoint cut short by
a kill is never listed or loaded (and is cleaned up on the next start).

Besides the newest ``max_to_keep`` checkpoints, the one at ``keep_step`` (the
best snapshot by the run's first metric) is never deleted.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any, Sequence

import jax
import orbax.checkpoint as ocp
from orbax.checkpoint.checkpoint_managers import preservation_policy


@dataclasses.dataclass
class _KeepStep:
  """Preservation policy: keep the checkpoint whose step ``owner.keep_step`` names."""
  owner: Any

  def should_preserve(self, checkpoints: Sequence[Any], *, context: Any) -> Sequence[bool]:
    del context
    return [info.step == self.owner.keep_step for info in checkpoints]


class Checkpointer:
  """Saves and restores (state, meta) pairs by step; keeps the last ``max_to_keep`` and the one at ``keep_step``."""

  def __init__(self, workdir: str | pathlib.Path, max_to_keep: int = 3):
    self.directory = pathlib.Path(workdir).absolute() / 'checkpoints'
    self.keep_step: int | None = None
    policy = preservation_policy.AnyPreservationPolicy([preservation_policy.LatestN(n=max_to_keep), _KeepStep(self)])
    options = ocp.CheckpointManagerOptions(preservation_policy=policy, create=True, cleanup_tmp_directories=True,
                                           enable_async_checkpointing=False)
    self.manager = ocp.CheckpointManager(self.directory, options=options, item_names=('state', 'meta'))

  def latest_step(self) -> int | None:
    """The step of the newest complete checkpoint, None if there is none."""
    return self.manager.latest_step()

  def all_steps(self) -> list[int]:
    """Steps of all complete checkpoints, oldest first."""
    return sorted(self.manager.all_steps())

  def save(self, step: int, state: Any, meta: dict) -> None:
    """Writes a checkpoint (all processes must call this; it returns when the checkpoint is complete)."""
    self.manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)),
                      force=True)
    self.manager.wait_until_finished()

  def restore(self, step: int, abstract_state: Any) -> tuple[Any, dict]:
    """(state shaped and sharded like ``abstract_state``, meta) of the checkpoint at ``step``."""
    restored = self.manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state),
                                                                   meta=ocp.args.JsonRestore()))
    return restored['state'], dict(restored['meta'])

  def restore_parts(self, step: int, abstract_parts: dict) -> dict:
    """Only the top-level state fields ``abstract_parts`` names (e.g. ``{'G_ema': ...}``) of the checkpoint at ``step``.

    Reads just those arrays: loading a generator does not restore D or the optimizer states.
    """
    args = ocp.args.PyTreeRestore(item=abstract_parts, partial_restore=True, restore_args=jax.tree.map(
        lambda a: ocp.ArrayRestoreArgs(sharding=a.sharding, global_shape=a.shape, dtype=a.dtype), abstract_parts))
    with ocp.PyTreeCheckpointer() as checkpointer:
      return checkpointer.restore(self.directory / str(step) / 'state', args=args)

  def close(self) -> None:
    """Waits for pending writes and releases the manager."""
    self.manager.wait_until_finished()
    self.manager.close()

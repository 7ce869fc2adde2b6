"""A training run's workdir as something to load: its config, networks and checkpoints.

Layout of a workdir: ``config.json`` (the training config), ``networks.json``
(the official constructor kwargs of G and D, with the data's resolution,
channels and labels), ``checkpoints/<step>/``, ``metrics.jsonl``, TensorBoard
event files and ``samples_*.png`` (and ``damaged_checkpoints/<step>/``, where the
trainer moved checkpoints it could not read back).
"""

from __future__ import annotations

import json
import pathlib
import sys

import jax
import ml_collections

from stylegan2_jax.networks.config import (abstract_variables, discriminator_from_kwargs, generator_from_kwargs,
                                           module_kwargs)
from stylegan2_jax.networks.handle import NETWORK_KEYS, LoadedNetwork
from stylegan2_jax.sharding import data_mesh, replicated
from stylegan2_jax.training import augmentation, state as train_state
from stylegan2_jax.training.build import build_optimizers
from stylegan2_jax.training.checkpoints import Checkpointer, DamagedCheckpointError, brief_error
from stylegan2_jax.training.failed_reads import read_quietly


def write_networks_json(workdir: pathlib.Path, G, D) -> None:
  """Records the networks' constructor kwargs beside the checkpoints."""
  (workdir / 'networks.json').write_text(json.dumps(dict(G=module_kwargs(G), D=module_kwargs(D)), indent=2))


def is_run_dir(path: str | pathlib.Path) -> bool:
  """True if ``path`` is a training workdir (has ``networks.json`` and ``checkpoints/``)."""
  path = pathlib.Path(path)
  return (path / 'networks.json').exists() and (path / 'checkpoints').is_dir()


def _run_networks(workdir: pathlib.Path):
  if not is_run_dir(workdir):
    raise FileNotFoundError(f'{workdir} is not a training workdir (no networks.json or checkpoints/)')
  kwargs = json.loads((workdir / 'networks.json').read_text())
  return generator_from_kwargs(kwargs['G']), discriminator_from_kwargs(kwargs['D'])


def _warn(message: str) -> None:
  print(f'warning: {message}', file=sys.stderr, flush=True)


def _read_checkpoint(checkpointer: Checkpointer, workdir: pathlib.Path, step: int | None, read):
  """``read(step)``; ``step`` None: of the newest intact checkpoint (a damaged newer one is named on stderr)."""
  if step is None:
    newest = checkpointer.newest_intact(read, _warn)
    if newest is None:
      raise FileNotFoundError(f'{workdir} has no complete checkpoint yet')
    return newest[1]
  try:
    return read_quietly(read, step)
  except Exception as e:  # pylint: disable=broad-except  (Orbax/TensorStore raise many types for damaged files)
    if step not in checkpointer.all_steps():
      raise FileNotFoundError(f'{workdir} has no checkpoint at step {step} (it has steps '
                              f'{", ".join(map(str, checkpointer.all_steps())) or "none"})') from None
    raise DamagedCheckpointError(
        f'checkpoint {checkpointer.directory / str(step)} is damaged ({brief_error(e)})') from None


def load_run(workdir: str | pathlib.Path, step: int | None = None):
  """(state, G, D, config) of a run's checkpoint (the newest intact one by default), replicated.

  The whole training state, optimizers included (for tests and tools that continue a run).
  """
  workdir = pathlib.Path(workdir)
  G, D = _run_networks(workdir)
  config = ml_collections.ConfigDict(json.loads((workdir / 'config.json').read_text()))
  G_opt, D_opt = build_optimizers(config)
  augment_fields = augmentation.state_fields(augmentation.training_augment(config, G.img_channels))
  abstract = train_state.abstract_train_state(G, D, G_opt, D_opt, replicated(data_mesh()), augment_fields)
  checkpointer = Checkpointer(workdir, read_only=True)
  try:
    state, _ = _read_checkpoint(checkpointer, workdir, step, lambda step: checkpointer.restore(step, abstract))
  finally:
    checkpointer.close()
  return state, G, D, config


def checkpoint_step(workdir: str | pathlib.Path, checkpoint: str = 'latest') -> int | None:
  """The step that ``checkpoint`` names: 'latest' -> None (the newest), 'best' -> ``best.json``'s, or a number."""
  if checkpoint == 'latest':
    return None
  if checkpoint == 'best':
    path = pathlib.Path(workdir) / 'best.json'
    if not path.exists():
      raise FileNotFoundError(f'{workdir} has no best.json: the run was trained without --config.metrics')
    return int(json.loads(path.read_text())['step'])
  if not str(checkpoint).isdigit():
    raise ValueError(f"checkpoint must be 'latest', 'best' or a step number, got {checkpoint!r}")
  return int(checkpoint)


def load_run_networks(workdir: str | pathlib.Path, checkpoint: str = 'latest',
                      keys=NETWORK_KEYS) -> dict[str, LoadedNetwork]:
  """The networks ``keys`` (of G, D, G_ema) of a run's checkpoint ('latest', 'best' or a step number).

  Restores only those networks' variables (no optimizer state). 'latest' is the newest
  checkpoint that reads back: a damaged newer one is named on stderr and skipped.
  """
  workdir = pathlib.Path(workdir)
  G, D = _run_networks(workdir)
  modules = {name: module for name, module in (('G', G), ('D', D), ('G_ema', G)) if name in keys}
  sharding = replicated(data_mesh())
  abstract = {name: _with_sharding(abstract_variables(module), sharding) for name, module in modules.items()}
  checkpointer = Checkpointer(workdir, read_only=True)
  try:
    variables = _read_checkpoint(checkpointer, workdir, checkpoint_step(workdir, checkpoint),
                                 lambda step: checkpointer.restore_parts(step, abstract))
  finally:
    checkpointer.close()
  return {name: LoadedNetwork(module=module, variables=variables[name], init_kwargs=module_kwargs(module),
                              class_name=type(module).__name__) for name, module in modules.items()}


def _with_sharding(tree, sharding):
  return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=sharding), tree)

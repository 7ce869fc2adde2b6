"""A training run's workdir as something to load: its config, networks and newest checkpoint.

Layout of a workdir: ``config.json`` (the training config), ``networks.json``
(the official constructor kwargs of G and D), ``checkpoints/<step>/``,
``metrics.jsonl``, TensorBoard event files and ``samples_*.png``.
"""

from __future__ import annotations

import json
import pathlib

import ml_collections

from stylegan2_jax import state as train_state
from stylegan2_jax.checkpointing import Checkpointer
from stylegan2_jax.interop.official import LoadedNetwork
from stylegan2_jax.networks.config import discriminator_from_kwargs, generator_from_kwargs, module_kwargs
from stylegan2_jax.sharding import data_mesh, replicated
from stylegan2_jax.train_config import build_optimizers


def write_networks_json(workdir: pathlib.Path, G, D) -> None:
  """Records the networks' constructor kwargs beside the checkpoints."""
  (workdir / 'networks.json').write_text(json.dumps(dict(G=module_kwargs(G), D=module_kwargs(D)), indent=2))


def is_run_dir(path: str | pathlib.Path) -> bool:
  """True if ``path`` is a training workdir (has ``networks.json`` and ``checkpoints/``)."""
  path = pathlib.Path(path)
  return (path / 'networks.json').exists() and (path / 'checkpoints').is_dir()


def load_run(workdir: str | pathlib.Path, step: int | None = None):
  """(state, G, D, config) of a run's checkpoint (the newest complete one by default), replicated."""
  workdir = pathlib.Path(workdir)
  if not is_run_dir(workdir):
    raise FileNotFoundError(f'{workdir} is not a training workdir (no networks.json or checkpoints/)')
  config = ml_collections.ConfigDict(json.loads((workdir / 'config.json').read_text()))
  kwargs = json.loads((workdir / 'networks.json').read_text())
  G, D = generator_from_kwargs(kwargs['G']), discriminator_from_kwargs(kwargs['D'])
  G_opt, D_opt = build_optimizers(config)
  abstract = train_state.abstract_train_state(G, D, G_opt, D_opt, replicated(data_mesh()))
  checkpointer = Checkpointer(workdir)
  try:
    step = checkpointer.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f'{workdir} has no complete checkpoint yet')
    state, _ = checkpointer.restore(step, abstract)
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


def load_run_networks(workdir: str | pathlib.Path, checkpoint: str = 'latest') -> dict[str, LoadedNetwork]:
  """G, D and G_ema of a run's checkpoint ('latest', 'best' or a step number)."""
  state, G, D, _ = load_run(workdir, checkpoint_step(workdir, checkpoint))
  return {name: LoadedNetwork(module=module, variables=variables, init_kwargs=module_kwargs(module),
                              class_name=type(module).__name__)
          for name, module, variables in (('G', G, state.G), ('D', D, state.D), ('G_ema', G, state.G_ema))}


def load_run_generator(workdir: str | pathlib.Path, checkpoint: str = 'latest') -> LoadedNetwork:
  """G_ema of a run's checkpoint ('latest', 'best' or a step number), ready for generation."""
  return load_run_networks(workdir, checkpoint)['G_ema']

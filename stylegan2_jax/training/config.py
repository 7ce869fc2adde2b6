"""The training config: every hyperparameter once, with its official default and unit, and its validation.

Config files (``configs/*.py``) call :func:`training_config` and override what
they need; every field can be overridden on the command line as
``--config.r1_gamma=10``. This module imports only ml_collections (and the
network defaults, which do too), so reading a config file stays cheap.

What the data decides is not a config key: the resolution is ``resolution``
(once, for G and D), and the channel and label counts come from the dataset.
``G`` and ``D`` therefore hold the official constructor kwargs without
``img_resolution``, ``img_channels`` and ``c_dim``, and a config that sets them
is refused.
"""

from __future__ import annotations

import difflib
import math

import ml_collections

from stylegan2_jax.networks.defaults import ARCHITECTURES, discriminator_config, generator_config

# Network constructor arguments that the data (or ``resolution``) decides, never set in a training config.
DATA_DERIVED_KEYS = ('img_resolution', 'img_channels', 'c_dim')

# Fields a resumed run may change; every other field must equal the run's saved config. G_lr, D_lr and r1_gamma
# are here so that a run that diverged can resume with lower ones: the Adam state (count, moments) and the loss
# state (pl_mean) hold no rate or weight, which the optimizers and losses take from the config at every start.
RESUMABLE_CHANGES = ('batch_gpu', 'total_kimg', 'kimg_per_tick', 'image_kimg', 'checkpoint_kimg', 'keep_checkpoints',
                     'init_from', 'grid_seed', 'data_dir', 'data_threads', 'data_prefetch', 'device_prefetch',
                     'background_writes', 'metrics', 'metrics_num_gen', 'metrics_batch', 'inception', 'vgg16',
                     'lpips', 'G_lr', 'D_lr', 'r1_gamma', 'remat', 'sequential_terms')

# Fields added after runs were first written, with the value that reproduces what those runs did:
# a run whose config.json lacks one of them resumes when the config keeps that value.
ADDED_FIELDS = dict(max_images=0, augment='none', augment_p=0.0, augpipe='bgc', ada_target=0.6, ada_interval=4,
                    ada_kimg=500.0, remat=False)
AUGMENT_MODES = ('ada', 'fixed', 'none')


def training_network_config(network: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A network's official kwargs without the data-derived ones (:data:`DATA_DERIVED_KEYS`)."""
  return ml_collections.ConfigDict({k: v for k, v in network.items() if k not in DATA_DERIVED_KEYS})


def training_config(resolution: int = 256) -> ml_collections.ConfigDict:
  """Official StyleGAN2 defaults (config F losses; the network sizes are the config's business)."""
  return ml_collections.ConfigDict(dict(
      seed=0,                    # seeds initialization, latents, noise and data order
      dataset='demo_mnist',      # a name from stylegan2_jax.data.datasets.DATASETS or a prepared dataset's directory
      data_dir='',               # where named datasets live ('' = $TFDS_DATA_DIR or ~/tensorflow_datasets)
      data_threads=8,            # reader threads decoding images ahead of the training step
      data_prefetch=2,           # batches read ahead
      device_prefetch=2,         # global batches copied to the devices ahead of the step, on a background thread
                                 # (0 = on the training loop's thread)
      resolution=resolution,     # image resolution, a power of two
      conditional=False,         # train on the dataset's labels
      xflip=False,               # add x-flipped copies of the images (randomly, per sample)
      max_images=0,              # train on a random subset of this many images (official --subset); 0 = all
      batch_size=32,             # global batch, split over all devices (official --batch)
      batch_gpu=0,               # images per device in one gradient-accumulation round (official --batch-gpu);
                                 # 0 = batch_size / devices (no accumulation); smaller saves memory
      total_kimg=25000.0,        # training length, in thousands of real images shown
      G=training_network_config(generator_config()),   # official Generator kwargs (see networks/defaults.py)
      D=training_network_config(discriminator_config()),  # official Discriminator kwargs
      G_lr=0.0025,               # Adam learning rate of G
      D_lr=0.0025,               # Adam learning rate of D
      adam_betas=(0.0, 0.99),    # Adam betas of both networks
      adam_eps=1e-8,
      r1_gamma=10.0,             # R1 weight; 0 disables R1
      pl_weight=2.0,             # path-length weight; 0 disables it
      pl_decay=0.01,             # decay of the path-length mean
      pl_batch_shrink=2,         # path length runs on batch_size // pl_batch_shrink
      style_mixing_prob=0.9,     # probability of style-mixing regularization
      G_reg_interval=ml_collections.FieldReference(4, field_type=int),   # lazy path length every k steps, None = each step
      D_reg_interval=ml_collections.FieldReference(16, field_type=int),  # lazy R1 every k steps, None = each step
      ema_kimg=10.0,             # half-life of the G EMA, in kimg
      ema_rampup=ml_collections.FieldReference(None, field_type=float),  # EMA ramp-up ratio, None = off
      augment='ada',             # what D sees (official --aug): 'ada' (p adapts to D's overfitting), 'fixed'
                                 # (p = augment_p throughout) or 'none' (no augmentation)
      augment_p=0.0,             # augmentation probability: the fixed p, or the p ADA starts from
      augpipe='bgc',             # which augmentations (official --augpipe): blit, geom, color, ..., bgc, ..., bgcfnc
      ada_target=0.6,            # ADA target of r_t = E[sign(D(real))] (official --target)
      ada_interval=4,            # ADA adjusts p every this many iterations
      ada_kimg=500.0,            # ADA: p can go from 0 to 1 in this many kimg
      mbstd_shards=0,            # minibatch-stddev groups stay inside this many batch slices; 0 = one per device
      remat=False,               # rematerialize each block of G's synthesis and of D: recompute its activations in
                                 # the backward passes instead of storing them (less memory, more compute, same math)
      sequential_terms=True,     # each loss term's gradient before the next term's forward pass, as the official
                                 # per-term backward() (Dmain: D's activations on fakes and reals not live at once);
                                 # False lets XLA interleave them (fewer bytes moved, more memory; same math)
      kimg_per_tick=4.0,         # progress is logged every tick
      image_kimg=50.0,           # a sample grid of G_ema is written every this many kimg (and at the end)
      checkpoint_kimg=50.0,      # a checkpoint is written every this many kimg (and at the end, and on SIGTERM)
      keep_checkpoints=3,        # how many checkpoints to keep
      background_writes=True,    # write checkpoints and sample grids on background threads while training goes on
                                 # (False = the loop waits for each write)
      grid_rows=4,               # sample grid layout
      grid_cols=8,
      grid_seed=0,               # the grid's latents: np.random.RandomState(grid_seed)
      init_from='',              # start from this checkpoint (a run's workdir) or official .pkl (weights only)
      metrics='',                # metrics of G_ema at every checkpoint, e.g. 'fid50k_full,pr50k3_full' (first ranks)
      metrics_num_gen=0,         # generated images per metric; 0 = the metric's own (50k)
      metrics_batch=64,          # images per feature-network step, over all devices
      inception='',              # pytorch-fid pt_inception-2015-12-05-*.pth (fid50k_full, kid50k_full, is50k)
      vgg16='',                  # torchvision vgg16-397923af.pth (pr50k3_full)
      lpips='',                  # lpips heads vgg.pth (trunk from vgg16) or .npz of the lpips VGG state_dict (PPL)
  ))


def validate_config(config: ml_collections.ConfigDict, num_devices: int, num_processes: int = 1) -> None:
  """Raises ValueError naming the setting to change; runs before anything is compiled."""
  res = config.resolution
  if not isinstance(res, int) or res < 4 or res & (res - 1):
    raise ValueError(f'--config.resolution must be a power of two >= 4, got {res}')
  batch = config.batch_size
  if batch <= 0 or batch % num_devices:
    raise ValueError(f'--config.batch_size={batch} must be a positive multiple of the {num_devices} devices')
  if batch % num_processes:
    raise ValueError(f'--config.batch_size={batch} must split evenly over the {num_processes} processes')
  if config.batch_gpu < 0 or (config.batch_gpu and (batch // num_devices) % config.batch_gpu):
    raise ValueError(f'--config.batch_gpu={config.batch_gpu} must divide the {batch // num_devices} images each of '
                     f'the {num_devices} devices holds (--config.batch_size={batch}), or be 0 for no accumulation')
  rounds = accumulation_rounds(config, num_devices)
  shards = config.mbstd_shards or num_devices
  if batch % (shards * rounds):
    raise ValueError(f'--config.batch_size={batch} must split into --config.mbstd_shards={shards} slices'
                     + (f' of {rounds} accumulation rounds' if rounds > 1 else ''))
  group = config.D.epilogue_kwargs.mbstd_group_size
  per_slice = batch // (shards * rounds)
  if group and per_slice % min(group, per_slice):
    raise ValueError(f'each device holds {per_slice} images per round, not divisible by the minibatch-stddev group '
                     f'{min(group, per_slice)}: change --config.batch_size, --config.batch_gpu or '
                     '--config.D.epilogue_kwargs.mbstd_group_size')
  pl_batch = batch // config.pl_batch_shrink
  if config.pl_weight > 0 and pl_batch % (math.lcm(num_devices, shards) * rounds):
    raise ValueError(f'the path-length batch {batch} // {config.pl_batch_shrink} must split over the '
                     f'{num_devices} devices' + (f' and {rounds} accumulation rounds' if rounds > 1 else '')
                     + ': change --config.batch_size or --config.pl_batch_shrink')
  if config.total_kimg <= 0:
    raise ValueError(f'--config.total_kimg must be positive, got {config.total_kimg}')
  if int(config.total_kimg * 1000) < batch:  # the loop trains whole steps of batch_size images
    raise ValueError(f'--config.total_kimg={config.total_kimg} is less than one step of --config.batch_size={batch} '
                     f'images ({batch / 1000:g} kimg)')
  _check_no_data_derived_keys(config)
  _validate_values(config)
  _validate_augment(config)
  validate_metric_settings(config)

def _config_value(config: ml_collections.ConfigDict, key: str):
  for part in key.split('.'):
    config = config[part]
  return config


def _validate_values(config: ml_collections.ConfigDict) -> None:
  """Range checks of single values, each naming its key."""
  def require(key: str, ok, what: str) -> None:
    value = _config_value(config, key)
    if not ok(value):
      raise ValueError(f'--config.{key}={value!r}: must be {what}')
  for key in ('G.synthesis_kwargs.architecture', 'D.architecture'):
    require(key, lambda v: v in ARCHITECTURES, ' or '.join(ARCHITECTURES))
  for key in ('G.synthesis_kwargs.channel_base', 'G.synthesis_kwargs.channel_max', 'D.channel_base',
              'D.channel_max', 'G.z_dim', 'G.w_dim', 'G.mapping_kwargs.num_layers', 'G_lr', 'D_lr', 'ema_kimg',
              'kimg_per_tick', 'image_kimg', 'checkpoint_kimg', 'keep_checkpoints', 'pl_batch_shrink'):
    require(key, lambda v: v > 0, 'positive')
  for key in ('r1_gamma', 'pl_weight', 'G.synthesis_kwargs.num_fp16_res', 'D.num_fp16_res', 'data_threads',
              'data_prefetch', 'device_prefetch', 'D.block_kwargs.freeze_layers'):
    require(key, lambda v: v >= 0, '>= 0')
  for key in ('style_mixing_prob', 'pl_decay'):
    require(key, lambda v: 0 <= v <= 1, 'in [0, 1]')
  for key in ('G_reg_interval', 'D_reg_interval'):
    require(key, lambda v: v is None or v >= 1, 'None (regularize in every step) or an interval >= 1')
  require('ema_rampup', lambda v: v is None or v > 0, 'None or positive')
  for key in ('remat', 'sequential_terms'):
    require(key, lambda v: type(v) is bool, 'True or False')
  for key in ('G.synthesis_kwargs.fp16_dtype', 'D.fp16_dtype'):
    require(key, lambda v: v in ('float16', 'bfloat16'), "'float16' or 'bfloat16'")


def _validate_augment(config: ml_collections.ConfigDict) -> None:
  """The augmentation settings, each naming its key (the official train.py checks)."""
  # The presets live with the (jax) pipe; its settings module itself imports nothing heavy.
  from stylegan2_jax.augment.settings import AUGPIPE_SPECS  # pylint: disable=import-outside-toplevel
  if config.augment not in AUGMENT_MODES:
    raise ValueError(f'--config.augment={config.augment!r}: must be ' + ', '.join(repr(m) for m in AUGMENT_MODES))
  if config.augpipe not in AUGPIPE_SPECS:
    raise ValueError(f'--config.augpipe={config.augpipe!r}: unknown preset; choose one of {", ".join(AUGPIPE_SPECS)}')
  if not 0 <= config.augment_p <= 1:
    raise ValueError(f'--config.augment_p={config.augment_p!r}: must be in [0, 1]')
  if not 0 <= config.ada_target <= 1:
    raise ValueError(f'--config.ada_target={config.ada_target!r}: must be in [0, 1]')
  if not isinstance(config.ada_interval, int) or config.ada_interval < 1:
    raise ValueError(f'--config.ada_interval={config.ada_interval!r}: must be an integer >= 1')
  if not config.ada_kimg > 0:
    raise ValueError(f'--config.ada_kimg={config.ada_kimg!r}: must be positive')
  if not isinstance(config.max_images, int) or config.max_images < 0:
    raise ValueError(f'--config.max_images={config.max_images!r}: must be an integer >= 0 (0 = every image)')


def _check_no_data_derived_keys(config: ml_collections.ConfigDict) -> None:
  for net in ('G', 'D'):
    given = [k for k in DATA_DERIVED_KEYS if k in config[net]]
    if given:
      raise ValueError(f'--config.{net}.{given[0]} is not a training setting: the resolution is --config.resolution '
                       '(for G and D), and the channel and label counts come from the dataset')


def accumulation_rounds(config: ml_collections.ConfigDict, num_devices: int) -> int:
  """Gradient-accumulation rounds per phase: ``batch_size // (batch_gpu * devices)`` (1 without ``batch_gpu``)."""
  per_device = config.batch_size // num_devices
  return per_device // config.batch_gpu if config.batch_gpu else 1


def closest_keys(config: ml_collections.ConfigDict, key: str, count: int = 3) -> list[str]:
  """The config's dotted keys that look most like ``key`` (for 'did you mean' messages)."""
  def walk(node, prefix=''):
    for name, value in node.items():
      yield prefix + name
      if isinstance(value, ml_collections.ConfigDict):
        yield from walk(value, f'{prefix}{name}.')
  return difflib.get_close_matches(key, list(walk(config)), n=count, cutoff=0.5)


def validate_metric_settings(config: ml_collections.ConfigDict) -> None:
  """Refuses unknown metrics and missing weights files before anything is compiled."""
  import pathlib  # pylint: disable=import-outside-toplevel
  # The metric table lives with the metrics (jax code); only needed when a run is validated.
  from stylegan2_jax.metrics.metrics import parse_metrics, required_weights  # pylint: disable=import-outside-toplevel
  names = parse_metrics(config.metrics)
  for kind in required_weights(names):
    path = config.get(kind, '')
    if not path:
      raise ValueError(f'--config.metrics={config.metrics} needs the {kind} weights: pass --config.{kind}=PATH '
                       f'(README, "Metrics")')
    if not pathlib.Path(path).expanduser().is_file():
      raise ValueError(f'--config.{kind}={path}: no such file')
  if config.metrics_num_gen < 0:
    raise ValueError(f'--config.metrics_num_gen={config.metrics_num_gen}: must be >= 0 (0 = each metric\'s own)')

"""stylegan2-jax train --config configs/paper.py:preset=paper256,dataset=ffhq,res=256 --workdir runs/p256

The ``stylegan2-ada-pytorch`` training presets on any dataset and resolution.
``preset`` is one of the official ``train.py --cfg`` values: ``paper256``,
``paper512``, ``paper1024``, ``stylegan2``, ``cifar`` or ``auto`` (which sizes
batch, gamma and EMA from the resolution, for 8 GPUs' worth of batch). ``dataset`` is a
name or a prepared dataset's directory (as ``--config.dataset``). These presets
train with ADA (``bgc``, target 0.6), as the official ``train.py`` does by default; ``--config.augment=none``
is its ``--aug=noaug``. Add ``,tiny`` for a smoke run.
``precision`` is ``fp32`` (default: float32 throughout, as the official ``--fp32``)
or ``bf16`` / ``fp16``: the official train.py's mixed precision (top 4 resolutions
reduced, ``conv_clamp=256``), bfloat16 being the TPU choice.
"""

import ml_collections

from configs.presets import ADA_SPECS, PRECISIONS, ada_spec, apply_spec, make_tiny, parse_arg, set_precision
from stylegan2_jax.training.config import training_config


def get_config(arg: str = 'preset=paper256,dataset=ffhq,res=256') -> ml_collections.ConfigDict:
  """An official preset on ``dataset`` at ``res``."""
  args = parse_arg(arg, {'preset': tuple(ADA_SPECS) + ('auto',), 'dataset': (), 'res': (), 'precision': PRECISIONS})
  resolution = int(args.get('res', 256))
  config = apply_spec(training_config(resolution), ada_spec(args.get('preset', 'paper256'), resolution))
  config.dataset = args.get('dataset', 'ffhq')
  set_precision(config, args.get('precision', 'fp32'))
  return make_tiny(config) if args.get('tiny') else config

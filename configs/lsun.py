"""stylegan2-jax train --config configs/lsun.py:category=church --workdir runs/church

LSUN cat, car, church and horse as in the StyleGAN2 paper (config F).
First prepare the data: ``stylegan2-jax dataset lsun --category church``. The
paper's settings (original ``run_training.py`` commands): car 512x384 (in a
512x512 frame here) for 57,000 kimg; cat 256 for 88,000 kimg; church 256 with
R1 gamma 100 for 48,000 kimg; horse 256 with R1 gamma 100 for 100,000 kimg.
Everything else is config F (batch 32, lr 0.002, path length 2, mixing 0.9,
EMA 10 kimg); no x-flips. ``configs/lsun.py:category=cat,tiny`` is a seconds-long local run.
"""

import ml_collections

from configs.presets import config_f, make_tiny, parse_arg

# category: (resolution, r1_gamma, total_kimg)
LSUN_SETTINGS = {
    'car': (512, 10.0, 57000),
    'cat': (256, 10.0, 88000),
    'church': (256, 100.0, 48000),
    'horse': (256, 100.0, 100000),
}


def get_config(arg: str = 'category=cat') -> ml_collections.ConfigDict:
  """LSUN ``category`` with the paper's resolution, gamma and length; add ``,tiny`` for a smoke run."""
  args = parse_arg(arg, {'category': tuple(LSUN_SETTINGS)})
  category = args.get('category', 'cat')
  resolution, gamma, kimg = LSUN_SETTINGS[category]
  config = config_f(resolution)
  config.dataset = f'lsun_{category}'
  config.r1_gamma, config.total_kimg = gamma, float(kimg)
  config.image_kimg = config.checkpoint_kimg = 200.0
  return make_tiny(config) if args.get('tiny') else config

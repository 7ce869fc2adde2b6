"""stylegan2-jax train --config configs/demo.py --workdir runs/demo

The demo: StyleGAN2 on 5,000 real MNIST digits (embedded, no download) at 32x32, on a CPU in minutes.
``configs/demo.py:tiny`` is a seconds-long smoke run (16x16, few channels) for debugging and tests.
Small networks and the official "auto" settings for low resolutions (2 mapping
layers, EMA ramp-up 0.05), except R1 gamma: the auto formula (0.0002 * res^2 /
batch = 0.0064 here) lets D win outright against networks this small (D scores
+-2.5) and every latent and label collapses to one digit shape; gamma 10 (config
F's) keeps the game balanced (scores about +-0.6) and the labels are learned.
"""

import ml_collections

from stylegan2_jax.training.config import training_config


def get_config(arg: str = '') -> ml_collections.ConfigDict:
  """Demo training config; ``arg='tiny'`` for a quick smoke run."""
  config = training_config(resolution=32)
  config.dataset = 'demo_mnist'
  config.conditional = True       # one-hot digit labels: the sample grid shows one digit class per column
  config.grid_rows, config.grid_cols = 4, 10
  config.batch_size = 32
  config.total_kimg = 32.0        # about 7 minutes on 2 CPU cores (78 img/s)
  config.G.update(z_dim=128, w_dim=128)
  config.G.mapping_kwargs.num_layers = 2
  config.G.synthesis_kwargs.update(channel_base=1024, channel_max=64)  # 64 channels up to 16x16, 32 at 32x32
  config.D.update(channel_base=1024, channel_max=64)
  config.r1_gamma = 10.0
  config.augment = 'none'         # 5,000 digits are plenty for networks this small (D does not overfit in 32 kimg),
                                  # and the pipe would cost time on a CPU; --config.augment=ada for small subsets
  config.ema_kimg = config.batch_size * 10 / 32
  config.ema_rampup = 0.05
  config.kimg_per_tick = 1.0
  config.image_kimg = 5.0
  config.checkpoint_kimg = 5.0
  if arg == 'tiny':
    config.conditional = False
    config.resolution = 16
    config.batch_size = 8
    config.total_kimg = 0.064
    config.G.update(z_dim=32, w_dim=32)
    config.G.synthesis_kwargs.update(channel_base=256, channel_max=32)
    config.D.update(channel_base=256, channel_max=32)
    config.kimg_per_tick = 0.016
    config.image_kimg = config.checkpoint_kimg = 0.032
    config.grid_rows, config.grid_cols = 2, 4
  elif arg:
    raise ValueError(f'unknown demo variant {arg!r}; use configs/demo.py or configs/demo.py:tiny')
  return config

"""stylegan2-jax train --config configs/ffhq.py:res=1024 --workdir runs/ffhq1024

FFHQ with the StyleGAN2 paper's config F, at any resolution from 4 to 1024.
First prepare the data: ``stylegan2-jax dataset ffhq --source images1024x1024 --resolution 1024``.
Config F: channel_base 32768 (512 channels up to 64x64), batch 32, lr 0.002,
R1 gamma 10, path length 2, style mixing 0.9, EMA 10 kimg, 8 mapping layers,
x-flips, 25,000 kimg, float32 as in the paper. ``precision=bf16`` (or ``fp16``) turns
on the official train.py's mixed precision (top 4 resolutions reduced,
``conv_clamp=256``): at 1024 on 16 GB TPU v5e chips it is what makes the
regularization phases fit. ``configs/ffhq.py:res=256,tiny`` is a seconds-long local run.
"""

import ml_collections

from configs.presets import PRECISIONS, config_f, make_tiny, parse_arg, set_precision

RESOLUTIONS = tuple(str(2 ** k) for k in range(2, 11))


def get_config(arg: str = 'res=1024') -> ml_collections.ConfigDict:
  """FFHQ config F at ``res`` (default 1024); add ``,tiny`` for a smoke run."""
  args = parse_arg(arg, {'res': RESOLUTIONS, 'precision': PRECISIONS})
  config = set_precision(config_f(int(args.get('res', 1024))), args.get('precision', 'fp32'))
  config.dataset = 'ffhq'
  config.xflip = True               # the official FFHQ runs use --mirror=1
  config.kimg_per_tick = 4.0
  config.image_kimg = config.checkpoint_kimg = 200.0
  return make_tiny(config) if args.get('tiny') else config

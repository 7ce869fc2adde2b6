"""stylegan2-jax train --config configs/ablations.py:config=E,dataset=ffhq,res=1024 --workdir runs/ffhq-E

The StyleGAN2 paper's Table 1 configs B-F and its generator x discriminator architecture grid:

    stylegan2-jax train --config configs/ablations.py:config=E,G=orig,D=resnet,dataset=lsun_car --workdir runs/car-Gorig-Dresnet

As the original ``run_training.py`` defines them (each adds to the one before):

- **B** weight demodulation: ``orig`` G and D, 16384 channel_base (TF fmap_base 8K), R1 gamma 10
  applied every step (no lazy regularization), no path length;
- **C** + lazy regularization (R1 every 16 steps, scaled by 16);
- **D** + path-length regularization (weight 2, every 4 steps);
- **E** no progressive growing: ``skip`` G, ``resnet`` D, R1 gamma 100; ``G=`` / ``D=`` choose the
  architectures of the paper's Table 2 grid (orig/skip/resnet each);
- **F** large networks: channel_base 32768, R1 gamma 10 (config F of ``configs/ffhq.py``).

All use batch 32, lr 0.002, style mixing 0.9, EMA 10 kimg, 8 mapping layers.
Config A (the StyleGAN baseline: AdaIN and progressive growing) is out of scope.
The original B-D also grew progressively (lr 0.001-0.003 and batch 256-32 by
resolution); growing is not implemented here, so B-D train at full resolution
with E's learning rate and batch: they isolate demodulation, lazy
regularization and path length, not the growing schedule.
``dataset`` defaults to ffhq (res 1024) and also takes ``lsun_car`` (512) or a prepared directory.
"""

import ml_collections

from configs.presets import config_f, make_tiny, parse_arg
from stylegan2_jax.networks.defaults import ARCHITECTURES

RESOLUTION_OF = {'ffhq': 1024, 'lsun_car': 512}


def get_config(arg: str = 'config=F') -> ml_collections.ConfigDict:
  """Table 1 config B-F (and for E any G/D architecture pair) on ``dataset`` at ``res``."""
  args = parse_arg(arg, {'config': ('B', 'C', 'D', 'E', 'F'), 'G': ARCHITECTURES, 'D': ARCHITECTURES,
                         'dataset': (), 'res': ()})
  name = args.get('config', 'F')
  dataset = args.get('dataset', 'ffhq')
  resolution = int(args.get('res', RESOLUTION_OF.get(dataset, 256)))
  if name != 'E' and ('G' in args or 'D' in args):
    raise ValueError('G=/D= choose the architectures of config E (the paper\'s architecture grid); use config=E')
  config = config_f(resolution)
  config.dataset = dataset
  config.xflip = dataset == 'ffhq'
  config.image_kimg = config.checkpoint_kimg = 200.0
  if name != 'F':
    config.G.synthesis_kwargs.channel_base = config.D.channel_base = 16384
  if name == 'E':
    config.r1_gamma = 100.0
    config.G.synthesis_kwargs.architecture = args.get('G', 'skip')
    config.D.architecture = args.get('D', 'resnet')
  if name in ('B', 'C', 'D'):
    config.G.synthesis_kwargs.architecture = config.D.architecture = 'orig'
  if name in ('B', 'C'):
    config.pl_weight = 0.0  # C keeps G's interval: the original compensates G's Adam for it all the same
  if name == 'B':
    config.G_reg_interval = config.D_reg_interval = None
  return make_tiny(config) if args.get('tiny') else config

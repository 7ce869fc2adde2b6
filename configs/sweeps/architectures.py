"""The StyleGAN2 paper's generator x discriminator architecture grid (orig/skip/resnet each) at config E.

    python launch/sweep.py configs/sweeps/architectures.py --root runs/arch-ffhq --dry-run
    stylegan2-jax summarize runs/arch-ffhq          # G architectures as rows, D as columns, FID in the cells

Set the dataset (``ARGS['dataset']``) and the Inception weights path first.
"""

CONFIG = 'configs/ablations.py'
ARGS = {'config': ['E'], 'dataset': ['ffhq'], 'G': ['orig', 'skip', 'resnet'], 'D': ['orig', 'skip', 'resnet']}
OVERRIDES = {'metrics': 'fid50k_full', 'inception': 'weights/pt_inception-2015-12-05-6726825d.pth'}
LAYOUT = dict(rows='G', cols='D', metrics=['fid50k_full'])

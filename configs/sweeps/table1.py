"""The StyleGAN2 paper's Table 1: configs B-F on FFHQ (1024) and LSUN car (512).

    python launch/sweep.py configs/sweeps/table1.py --root runs/table1 --dry-run
    stylegan2-jax summarize runs/table1

Metrics as in the paper: FID, path length (PPL in W, end points), precision and
recall; they need the Inception and VGG16 weights (``--config.inception``/
``--config.vgg16`` below: set the paths). Prepare the datasets first (README).
"""

CONFIG = 'configs/ablations.py'
ARGS = {'config': ['B', 'C', 'D', 'E', 'F'], 'dataset': ['ffhq', 'lsun_car']}
OVERRIDES = {
    'metrics': 'fid50k_full,ppl_wend,pr50k3_full',
    'inception': 'weights/pt_inception-2015-12-05-6726825d.pth',
    'vgg16': 'weights/vgg16-397923af.pth',
}
LAYOUT = dict(rows='config', cols='dataset',
              metrics=['fid50k_full', 'ppl_wend', 'pr50k3_full_precision', 'pr50k3_full_recall'])

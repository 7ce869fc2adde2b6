"""``python -m stylegan2_jax.main --config configs/demo.py --workdir runs/demo``: the trainer, as the launch scripts run it.

The same as ``stylegan2-jax train``; the flags are in :mod:`stylegan2_jax.commands.train`.
"""

from stylegan2_jax.commands.train import run

if __name__ == '__main__':
  run()

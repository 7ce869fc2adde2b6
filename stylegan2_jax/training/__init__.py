"""The training loop and what it needs: config, state, phase steps, checkpoints, run logs, metrics during training."""

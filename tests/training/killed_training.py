"""Runs ``stylegan2_jax.main`` and SIGKILLs itself in the middle of writing its second checkpoint (for tests).

    python tests/training/killed_training.py --config ... --workdir ...
"""

from __future__ import annotations

import os
import signal
import threading
import time

from stylegan2_jax import main
from stylegan2_jax.training import checkpoints as checkpointing

_save = checkpointing.Checkpointer.save
_calls = []


def _save_then_die(self, step, state, meta, **kwargs):
  _calls.append(step)
  if len(_calls) < 2:
    return _save(self, step, state, meta, **kwargs)
  threading.Thread(target=_save, args=(self, step, state, meta), kwargs=kwargs, daemon=True).start()
  deadline = time.time() + 60
  writing = f'{step}.orbax-checkpoint-tmp'  # (not the previous checkpoint's, which may still be committing)
  while not any(p.name.startswith(writing) for p in self.directory.iterdir()) and time.time() < deadline:
    time.sleep(0.001)
  os.kill(os.getpid(), signal.SIGKILL)  # mid-write: Orbax's temporary directory is left behind


if __name__ == '__main__':
  checkpointing.Checkpointer.save = _save_then_die
  main.run()

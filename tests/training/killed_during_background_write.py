"""Runs ``stylegan2_jax.main`` and SIGKILLs itself while a checkpoint is still being written in the background.

    python tests/training/killed_during_background_write.py --config ... --workdir ... --config.total_kimg=0.096

The commit (rename) of the checkpoint at step 8 is held back; the loop goes on
training meanwhile, and the process is killed at step 10, two steps after that
save returned (for tests).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading

from orbax.checkpoint._src.path import atomicity

from stylegan2_jax import main
from stylegan2_jax.training.steps import TrainSteps

HELD_STEP, KILL_STEP = '8', 10
_finalize = atomicity.AtomicRenameTemporaryPath.finalize
_run_phase = TrainSteps.run_phase
_never = threading.Event()


async def _held_finalize(self, *args, **kwargs):
  if self._final_path.name == HELD_STEP:  # pylint: disable=protected-access
    # The commit of step 8 waits for the kill (at most 5 minutes: a loop that waited for the write would
    # commit it then, and fail the test instead of hanging).
    await asyncio.to_thread(_never.wait, 300)
  return await _finalize(self, *args, **kwargs)


def _killed_at_step(self, phase, state, *args):
  if int(state.step) == KILL_STEP:
    print(f'killed at step {KILL_STEP}', flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
  return _run_phase(self, phase, state, *args)


if __name__ == '__main__':
  atomicity.AtomicRenameTemporaryPath.finalize = _held_finalize
  TrainSteps.run_phase = _killed_at_step
  main.run()

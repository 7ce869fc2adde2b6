"""Style mixing: the paper's figure, one seed's styles copied into another's ws at chosen layers.

    stylegan2-jax style-mix --network N --rows 85,100,75 --cols 55,821,1789 --styles 0-6 --out grid.png

Cell (row, col) takes the ws of the layers in ``styles`` from the row seed and
all other ws from the column seed, as in the paper's figure (source B on the
left gives the listed styles, source A on top the rest). The official
``style_mixing.py`` takes the listed styles from the column seeds instead;
``styles_from='cols'`` does that (its grid is then the official one). The
source images are on the top row and the left column.
"""

from __future__ import annotations

import pathlib
from typing import Sequence

import numpy as np

from stylegan2_jax.sampling import save_image
from stylegan2_jax.tools.render import Renderer, check_png_path, parse_layers, write_args


def mix_ws(base: np.ndarray, donor: np.ndarray, layers: Sequence[int]) -> np.ndarray:
  """``base`` ws [num_ws, w_dim] with the rows ``layers`` replaced by ``donor``'s."""
  mixed = np.array(base, np.float32, copy=True)
  mixed[list(layers)] = donor[list(layers)]
  return mixed


def style_mix(renderer: Renderer, row_seeds: Sequence[int], col_seeds: Sequence[int], styles: Sequence[int],
              truncation_psi: float = 1.0, styles_from: str = 'rows') -> tuple[np.ndarray, dict]:
  """-> (grid image HWC uint8, {(row_seed, col_seed): image}); sources are keyed (seed, seed)."""
  if styles_from not in ('rows', 'cols'):
    raise ValueError(f"styles_from must be 'rows' or 'cols', got {styles_from!r}")
  if not row_seeds or not col_seeds:
    raise ValueError('style mixing needs at least one row seed and one column seed')
  seeds = sorted(set(row_seeds) | set(col_seeds))
  w_of = dict(zip(seeds, renderer.ws_from_seeds(seeds, truncation_psi)))
  keys = [(s, s) for s in seeds] + [(r, c) for r in row_seeds for c in col_seeds]
  ws = []
  for r, c in keys:
    donor, base = (w_of[r], w_of[c]) if styles_from == 'rows' else (w_of[c], w_of[r])
    ws.append(mix_ws(base, donor, styles))
  images = dict(zip(keys, renderer.images(np.stack(ws))))

  h, w, ch = images[keys[0]].shape
  grid = np.zeros(((len(row_seeds) + 1) * h, (len(col_seeds) + 1) * w, ch), np.uint8)
  for j, c in enumerate(col_seeds):
    grid[:h, (j + 1) * w:(j + 2) * w] = images[(c, c)]
  for i, r in enumerate(row_seeds):
    grid[(i + 1) * h:(i + 2) * h, :w] = images[(r, r)]
    for j, c in enumerate(col_seeds):
      grid[(i + 1) * h:(i + 2) * h, (j + 1) * w:(j + 2) * w] = images[(r, c)]
  return grid, images


def style_mix_to_files(renderer: Renderer, row_seeds: Sequence[int], col_seeds: Sequence[int], styles: str,
                       out: str | pathlib.Path, truncation_psi: float = 1.0, styles_from: str = 'rows',
                       save_cells: bool = False) -> pathlib.Path:
  """Writes the grid PNG ``out`` (and ``out``'s stem + ``.json`` with the arguments); ``save_cells`` also writes
  every cell as ``<row>-<col>.png`` beside it, as the official tool does. Returns the grid path."""
  out = check_png_path(out)
  layers = parse_layers(styles, renderer.num_ws)
  grid, images = style_mix(renderer, row_seeds, col_seeds, layers, truncation_psi, styles_from)
  out.parent.mkdir(parents=True, exist_ok=True)
  save_image(grid, out)
  if save_cells:
    for (r, c), image in images.items():
      save_image(image, out.parent / f'{r}-{c}.png')
  write_args(out.with_suffix('.json'), tool='style-mix', **renderer.record(), rows=list(row_seeds),
             cols=list(col_seeds), styles=layers, styles_from=styles_from, trunc=truncation_psi)
  return out

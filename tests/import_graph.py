"""Prints which top-level parts of the package import which: ``python tests/import_graph.py [REPO]``.

A part is a subpackage (``training``, ``interop``, ...) or a module at the package
root (``loading``, ``sampling``, ...). Imports at module level and inside functions
(marked ``lazy``) both count: a function-level import can hide a cycle.
``tests/test_import_layers.py`` checks the layering rules on this graph.
"""

from __future__ import annotations

import ast
import collections
import pathlib
import sys

PACKAGE = 'stylegan2_jax'


def part_of(module: str) -> str | None:
  """'stylegan2_jax.training.loop' -> 'training'; None outside the package."""
  parts = module.split('.')
  if parts[0] != PACKAGE or len(parts) < 2:
    return None
  return parts[1]


def _imported_modules(node: ast.AST, module: str) -> list[str]:
  if isinstance(node, ast.Import):
    return [alias.name for alias in node.names]
  if isinstance(node, ast.ImportFrom):
    if node.level:  # relative import
      base = module.split('.')[:-node.level]
      target = '.'.join(base + ([node.module] if node.module else []))
    else:
      target = node.module or ''
    # 'from stylegan2_jax import losses' imports the module stylegan2_jax.losses ('__version__' is no module)
    return [f'{target}.{alias.name}' if target == PACKAGE else target for alias in node.names
            if target != PACKAGE or not alias.name.startswith('__')]
  return []


def import_graph(repo: pathlib.Path) -> dict[tuple[str, str], dict[str, set[str]]]:
  """{(importer part, imported part): {'module': {files}, 'lazy': {files}}} for imports between different parts."""
  graph: dict = collections.defaultdict(lambda: {'module': set(), 'lazy': set()})
  root = repo / PACKAGE
  for path in sorted(root.rglob('*.py')):
    module = '.'.join(path.relative_to(repo).with_suffix('').parts)
    source = part_of(module if path.name != '__init__.py' else module + '.__init__')
    tree = ast.parse(path.read_text(), str(path))
    top_level = {id(n) for n in tree.body}
    for node in ast.walk(tree):
      for target in _imported_modules(node, module):
        dest = part_of(target)
        if dest is None or dest == source or dest == '__init__':
          continue
        kind = 'module' if id(node) in top_level else 'lazy'
        graph[(source, dest)][kind].add(str(path.relative_to(repo)))
  return graph


def main(argv: list[str]) -> None:
  """Prints one line per pair of parts: importer -> imported, and whether any of the imports are lazy."""
  repo = pathlib.Path(argv[1] if len(argv) > 1 else pathlib.Path(__file__).resolve().parents[1])
  for (source, dest), kinds in sorted(import_graph(repo).items()):
    lazy = f' (lazy in {", ".join(sorted(kinds["lazy"]))})' if kinds['lazy'] else ''
    print(f'{source:>12s} -> {dest}{"" if kinds["module"] else " [lazy only]"}{lazy if kinds["module"] else ""}')


if __name__ == '__main__':
  main(sys.argv)

"""What every dataset builder shares: parallel example processing, the skipped-file report, the summary.

A builder turns raw items (files, archive members, tfds records) into examples
with :func:`process_items`; items that cannot be used are recorded in a
:class:`SkipReport` instead of stopping the build. After ``download_and_prepare``
:func:`prepare` writes the report next to the dataset (``stylegan2_report.json``)
and returns the summary the dataset tool prints.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import json
import os
import pathlib
import re
import threading
from typing import Any, Callable, Iterable, Iterator

REPORT_NAME = 'stylegan2_report.json'


class SkipItem(Exception):
  """Raised by a builder's example function for an item it leaves out on purpose (the message says why)."""


class SkipReport:
  """Thread-safe list of (item, reason) for items left out of a dataset."""

  def __init__(self):
    self._lock = threading.Lock()
    self.items: list[tuple[str, str]] = []

  def add(self, item: str, reason: str) -> None:
    """Records one left-out item."""
    with self._lock:
      self.items.append((item, reason))

  def counts(self) -> dict[str, int]:
    """How many items were skipped for each reason (the text before the first ':')."""
    return dict(collections.Counter(reason.split(':')[0] for _, reason in self.items))


def local_info(info):
  """``info`` without tfds's lookup of the dataset on its public bucket, then returned.

  Our datasets are never there, and the lookup leaves an empty temporary folder
  behind for every builder of a dataset not yet prepared.
  """
  info.initialize_from_bucket = lambda: None
  return info


def check_output_resolution(resolution: int) -> None:
  """Raises ValueError unless ``resolution`` (the dataset tool's ``--resolution``) is a power of two >= 4."""
  if resolution < 4 or resolution & (resolution - 1):
    raise ValueError(f'--resolution must be a power of two >= 4, got {resolution}')


def check_dataset_name(name: str) -> None:
  """Raises ValueError unless ``name`` (the dataset tool's ``--name``) is a plain folder name: lower-case letters,
  digits, "_", "-" and ".", starting with a letter or digit (no "..", "/", absolute or empty names)."""
  if not isinstance(name, str) or not re.fullmatch(r'[a-z0-9][a-z0-9_.-]*', name):
    raise ValueError(f'--name {name!r} is not a plain name: use lower-case letters, digits, "_", "-" and ".", '
                     'starting with a letter or digit (it names a folder inside the data directory)')


def process_items(items: Iterable[Any], fn: Callable[[Any], tuple[str, dict]], skipped: SkipReport,
                  num_threads: int | None = None, name: Callable[[Any], str] = str
                  ) -> Iterator[tuple[str, dict]]:
  """Yields ``fn(item)`` = (key, example) in item order, computed on a thread pool.

  An item whose ``fn`` raises is recorded in ``skipped`` and left out: with the
  message of a :class:`SkipItem`, as "unreadable: ..." for anything else
  (corrupt or truncated files, unknown formats).
  """
  num_threads = num_threads or min(16, (os.cpu_count() or 1) + 2)

  def guarded(item):
    try:
      return item, fn(item), None
    except SkipItem as error:
      return item, None, str(error)
    except Exception as error:  # pylint: disable=broad-except  # a bad file must never stop the build
      return item, None, f'unreadable: {type(error).__name__}: {error}'

  items = iter(items)
  with concurrent.futures.ThreadPoolExecutor(num_threads) as pool:
    # islice, not zip(items, range(n)): zip pulls one more item from ``items`` before it sees that the range
    # is exhausted, and that item would be lost.
    window = collections.deque(pool.submit(guarded, item) for item in itertools.islice(items, 4 * num_threads))
    while window:
      item, result, error = window.popleft().result()
      next_item = next(items, _END)
      if next_item is not _END:
        window.append(pool.submit(guarded, next_item))
      if error is not None:
        skipped.add(name(item), error)
      else:
        yield result


_END = object()


def prepare(builder, details: dict | None = None) -> dict:
  """Builds ``builder`` as array_record files (if not yet built), writes ``builder.skipped`` as the report, returns
  the summary.

  The summary holds the builder's ``report_options`` (how images were prepared, e.g. ``exif_orientation``) and
  ``report_counts()``; a dataset already prepared with other options is refused, not silently reused.
  """
  skipped = builder.skipped
  version_dir = pathlib.Path(builder.data_dir)
  report_path = version_dir / REPORT_NAME
  options = getattr(builder, 'report_options', {})  # e.g. exif_orientation: applied / ignored
  if builder.is_prepared() and report_path.exists():
    report = json.loads(report_path.read_text())
    for key, value in options.items():
      if key in report and report[key] != value:
        raise ValueError(f'{version_dir} was prepared with {key} {report[key]}, not {value}: give another --name '
                         'or delete that folder')
    return report
  if not builder.is_prepared():
    try:
      builder.download_and_prepare(file_format='array_record')
    except AssertionError as error:
      if 'No examples were yielded' not in str(error):
        raise
      first = '; '.join(f'{item}: {reason}' for item, reason in skipped.items[:3])
      raise ValueError(f'no usable images: all {len(skipped.items)} were skipped '
                       f'({skipped.counts()}; e.g. {first})') from None
  info = builder.info
  image = info.features['image']
  summary = dict(
      path=str(version_dir),
      name=builder.name + ('/' + builder.builder_config.name if builder.builder_config else ''),
      images=int(info.splits['train'].num_examples),
      resolution=int(image.shape[0]),
      channels=int(image.shape[2]),
      labels=list(info.features['label'].names) if 'label' in info.features else [],
      skipped=len(skipped.items),
      skipped_by_reason=skipped.counts(),
      skipped_files=[dict(item=item, reason=reason) for item, reason in skipped.items],
      **{**options, **(builder.report_counts() if hasattr(builder, 'report_counts') else {}), **(details or {})},
  )
  report_path.write_text(json.dumps(summary, indent=2))
  return summary

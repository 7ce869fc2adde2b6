"""Reads the hostile files of ``hostile_files.py`` under resource limits; ``test_hostile_inputs.py`` runs it.

Usage: ``python hostile_runner.py AS_MIB CPU_SECONDS CASES_JSON``. The address-space
and CPU-time limits are set before anything is read, so a reader that expands a
file instead of refusing it fails (MemoryError, or killed by SIGXCPU) instead of
exhausting the machine. Prints one JSON line when each case starts and one with
its outcome: ``ok``, or the error a command would print (``error``, ``message``),
or ``crash`` for any other exception (a traceback in a command).
"""

import json
import pathlib
import resource
import sys


def peak_rss_mib() -> int:
  """This process's own peak resident memory (VmHWM), in MiB.

  Not ``ru_maxrss``: Linux carries the parent's high-water mark through fork and exec,
  so a runner started from a large test process would report the parent's peak.
  """
  for line in pathlib.Path('/proc/self/status').read_text().splitlines():
    if line.startswith('VmHWM:'):
      return int(line.split()[1]) >> 10
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10


def main() -> None:
  as_mib, cpu_seconds, cases_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
  with open(cases_path) as f:
    cases = json.load(f)
  resource.setrlimit(resource.RLIMIT_AS, (as_mib << 20, as_mib << 20))
  resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
  # The exceptions the stylegan2-jax command prints as one line (stylegan2_jax/cli.py).
  from stylegan2_jax.interop.official_pickle import UnsafePickleError, UnsupportedPickleError, read_pickle
  from stylegan2_jax.interop.torch_export import MissingExtraError
  one_line = (ValueError, FileNotFoundError, NotImplementedError, UnsafePickleError, UnsupportedPickleError,
              MissingExtraError)
  for case in cases:
    print(json.dumps({'start': case['name']}), flush=True)
    try:
      if case['entry'] == 'read':
        read_pickle(case['path'])
      else:
        from stylegan2_jax.loading import load_networks  # pylint: disable=import-outside-toplevel
        load_networks(case['path'])
      outcome = {'ok': True}
    except one_line as e:
      message = str(e)
      outcome = {'error': type(e).__name__, 'message': message[:2000], 'length': len(message)}
    except BaseException as e:  # pylint: disable=broad-except
      outcome = {'crash': type(e).__name__, 'message': str(e)[:500]}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({'name': case['name'], **outcome, 'maxrss_mib': peak_rss_mib(),
                      'cpu_s': usage.ru_utime + usage.ru_stime}), flush=True)


if __name__ == '__main__':
  main()

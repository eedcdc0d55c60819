"""asal: Active Score for Active Learning, reproducible.

Every computation of the notebooks lives in this package; see README.md.

Importing it pins PyTorch's CPU kernels to AVX2 (see asal/cpu_kernels.py), so that an
AVX-512 machine trains to the same numbers as an AVX2-only one. It must therefore be
imported before torch runs its first operation; every notebook and command does so.
"""

from asal.cpu_kernels import pin_cpu_kernels

pin_cpu_kernels()

from importlib.metadata import PackageNotFoundError, version  # noqa: E402

try:
    __version__ = version("asal")        # pyproject.toml's, the one owner of the number
except PackageNotFoundError:             # a checkout that is not installed
    __version__ = "unknown"

"""asal: Active Score for Active Learning, reproducible.

Every computation of the notebooks lives in this package; see README.md.
"""

__version__ = "0.1.0"

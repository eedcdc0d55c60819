"""One owner for how things are named and drawn: the class words, and one colour and
marker per initial selection (and one colour for the scorers' own bars and lines), the
same in every figure.

Random is always the same grey, so the baseline reads as a baseline. An initial selection
added to the registry without a style here is drawn in black with a star, and a test says
that every registered one has its own.
"""

from __future__ import annotations

# The positive class is a "defect" everywhere a person reads it; a pool's folder is named
# `anomaly` (the ASAL and MVTec AD layout), and labels.csv accepts both words.
GOOD, DEFECT = "good", "defect"
CLASS_WORDS = {0: GOOD, 1: DEFECT}
CLASS_COLOURS = {GOOD: "#4C72B0", DEFECT: "#C44E52"}

RANDOM_GREY = "#7f7f7f"
INIT_STYLE = {            # seaborn's colorblind palette, Random apart
    "asal": ("#0173b2", "o"),
    "random": (RANDOM_GREY, "s"),
    "top": ("#de8f05", "^"),
    "pt4al": ("#029e73", "D"),
    "asal_rotation": ("#d55e00", "v"),
    "typiclust": ("#cc78bc", "P"),
    "probcover": ("#ca9161", "X"),
}
SCORER_COLOUR = "#56b4e9"      # a scorer's own test AUROC (hatched: fitted on good images)
OTHER = ("black", "*")
# a query besides the first one (least confidence) is drawn dashed
QUERY_LINES = ("-", "--", ":", "-.")


def colour(name: str) -> str:
    return INIT_STYLE.get(name, OTHER)[0]


def marker(name: str) -> str:
    return INIT_STYLE.get(name, OTHER)[1]


def ordered(names) -> list[str]:
    """Names in the registry's order (asal first, random second), others after."""
    known = list(INIT_STYLE)
    names = list(dict.fromkeys(names))
    return sorted(names, key=lambda n: (known.index(n) if n in known else len(known), n))

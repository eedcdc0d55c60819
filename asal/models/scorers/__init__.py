"""Anomaly scorers behind one interface (base.py), in a registry by name.

    ensemble   a rank average of the scorers a profile lists (ensemble.py)
    features   distance to the other pool images on an untrained network's features
    patches    PatchCore-style nearest patches, denoised the SoftPatch way
    pixels     per-pixel robust statistics against the pool, for registered images
    draem      the paper's detector, trained on the pool (draem/)
    csv        a user's own scores of the pool (csv_scores.py)

asal/models/scorer_names.py holds the names and each scorer's parameters without importing torch.
"""

from asal.models.scorers.base import Fitting, Scorer
from asal.models.scorers.csv_scores import CsvScorer
from asal.models.scorers.draem.scorer import DraemScorer
from asal.models.scorers.ensemble import EnsembleScorer
from asal.models.scorers.features import FeaturesScorer
from asal.models.scorers.patches import PatchesScorer
from asal.models.scorers.pixels import PixelsScorer

SCORERS: dict[str, type[Scorer]] = {
    cls.name: cls for cls in (EnsembleScorer, FeaturesScorer, PatchesScorer, PixelsScorer,
                              DraemScorer, CsvScorer)}

__all__ = ["SCORERS", "Fitting", "Scorer"]

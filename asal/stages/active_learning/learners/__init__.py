"""The classifiers a cycle trains, behind one interface (base.py), in a registry by name;
asal/models/learner_names.py holds the names without importing torch.

    adam      the ResNet18 trained with minibatch Adam (network.py)
    lbfgs     a logistic regression on a frozen body's features (linear.py)
    evidence  the scorer's evidence beside those features, anchored at the scorer
              (evidence.py)
"""

from asal.stages.active_learning.learners.base import ArtefactParts, Learner, Trained
from asal.stages.active_learning.learners.evidence import EvidenceLearner
from asal.stages.active_learning.learners.linear import LinearLearner
from asal.stages.active_learning.learners.network import NetworkLearner

LEARNERS: dict[str, type[Learner]] = {
    cls.name: cls for cls in (NetworkLearner, LinearLearner, EvidenceLearner)}

__all__ = ["LEARNERS", "ArtefactParts", "Learner", "Trained"]

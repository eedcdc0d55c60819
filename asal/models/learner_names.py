"""The learners' names, and what each reads, without importing them (and torch): the
schema and the Snakefile need only these. asal/stages/active_learning/learners/ holds the
learners themselves; a test checks that the two agree.

- adam: the ResNet18 trained with minibatch Adam, all of it or its head on a frozen body
  (the paper's classifier);
- lbfgs: a logistic regression on a frozen body's pooled features, fitted every cycle;
- evidence: the scorer's anomaly evidence beside those features, anchored at the scorer
  (asal/models/anchored_head.py), its prior on the features set by the labels.
"""

LEARNER_NAMES = ("adam", "lbfgs", "evidence")
FROZEN = ("lbfgs", "evidence")           # fitted on a frozen body's features
READS_EVIDENCE = ("evidence",)           # needs a scorer that can score new images

# A frozen body's features: each ResNet18 stage's map, averaged or maximised over its
# places (layer4_mean is the network's own pooled input to its fc layer)
BODY_FEATURES = tuple(f"layer{k}_{pool}" for k in (1, 2, 3, 4) for pool in ("mean", "max"))

"""A logistic head anchored at the scorer, whose prior on the features is set by the
labels themselves: logit p(defect) = b + beta * z + w . x, with z the image's anomaly
evidence (the normal score of its rank among the pool's scores) and x the frozen body's
features, standardised with the pool's statistics (no labels needed).

The prior, stated in function space so that its meaning does not change with the body's
width:
- beta ~ N(beta_prior, beta_var): before any label the classifier ranks as the scorer;
- w ~ N(0, tau^2 / d): the features' contribution w . x has prior standard deviation tau
  on a pool image, in the same units as beta * z (about beta_prior);
- b ~ N(0, BIAS_VAR).

tau is not fixed: every fit chooses it on the labeled set. With few labels of either class,
by evidence maximisation (type-II maximum a posteriori: the tau of the grid whose
Laplace-approximated marginal likelihood of the labels, times an exponential hyperprior of
mean tau_scale, is highest), as scikit-learn's BayesianRidge chooses its precisions for
regression: the evidence prefers a small tau and the head stays near the scorer. Once both
classes hold `cv_from` labels, by cross-validation of the ranking (held-out AUROC), which
on the pools' validation parts let the features take over where the evidence did not.
Both rules can be held at the anchor until the labels speak clearly: below cv_from the
features join only where their evidence beats the scorer alone by the Bayes factor
anchor_bf, and from cv_from only where their held-out gain over tau 0 is above cv_se
standard errors over the folds.
The anchor is AAD's (Das et al. 2016): the unsupervised score is the prior's mean, and the
labels move the weights away from it.

Because the prior is Gaussian, the model is a Gaussian-process classifier with the linear
kernel K = BIAS_VAR + beta_var z z' + tau^2/d x x' and the mean beta_prior z. Its Laplace
mode is found by Newton's method in the labeled images' n dimensions (Rasmussen and
Williams 2006, algorithm 3.1), whatever the feature width, and the mode's weights come back
in closed form (w = tau^2/d x' alpha), so the head is a plain linear layer again. The fit
is deterministic and needs no iteration limit in practice (Newton on a log-concave
likelihood); a fit that does not converge is an error, not a silent stop.

A labeled set of one class says nothing about the other: then w = 0 and beta =
beta_prior exactly, and the intercept is the smoothed class share, so the head ranks as
the scorer does.

The likelihood is not class-weighted: the labels are chosen by their images (scores,
features), never by their labels, so an unweighted fit estimates p(defect | image) for the
pool whatever the labeled set's share (asal/models/threshold.py uses that).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import solve_triangular
from scipy.special import expit, log_expit
from sklearn.metrics import roc_auc_score

BIAS_VAR = 16.0          # the intercept's prior variance: logits of -4 to 4 are all likely
TAU_GRID = (0.0,) + tuple(np.round(np.geomspace(0.125, 32.0, 17), 6))   # 2^(-3 .. 5), 2^½ apart
NEWTON_TOL = 1e-10     # the mode's stationarity, max |K (y - p) - (f - m)|, in logit units,
# above the rounding of K (y - p): a few eps times n max|K|
NEWTON_STEPS = 200
JITTER = 1e-8
CV_FOLDS = 5
CV_TAU_MAX = 8.0    # cross-validation's grid stops here: at a fixed tau, 16 ranked worse than
# 4 and 8 on every ELPV pool's validation part, and the noisy held-out AUROC of 10-20
# defects would otherwise reach for it


class NoConvergence(RuntimeError):
    pass


@dataclass(frozen=True)
class Mode:
    """The Laplace mode of one prior: alpha, the likelihood's gradient there (f = m + K
    alpha), and the log marginal likelihood."""

    alpha: np.ndarray
    log_evidence: float


def laplace_mode(kernel: np.ndarray, mean: np.ndarray, y: np.ndarray) -> Mode:
    """Newton's method for the mode of the logistic likelihood under the Gaussian
    prior N(mean, kernel), and the Laplace approximation of log p(y) there (Rasmussen and
    Williams, algorithms 3.1 and 3.2). The iterate is alpha, with f = mean + kernel alpha,
    so a kernel of low rank (tau = 0) needs no inverse; a step that does not lower the
    objective is halved."""
    n = len(y)
    sign = 2.0 * y - 1
    # jitter, as GP software adds: the kernel of tau = 0 has rank 2, and Newton's alpha
    # would wander in its null space, where rounding grows without changing f
    kernel = kernel + JITTER * np.eye(n)

    def objective(alpha):
        a = kernel @ alpha
        return -log_expit(sign * (mean + a)).sum() + 0.5 * a @ alpha

    def factor(f):
        p = expit(f)
        sw = np.sqrt(p * (1 - p))
        return p, sw, np.linalg.cholesky(np.eye(n) + sw[:, None] * kernel * sw[None, :])

    alpha = np.zeros(n)
    value = objective(alpha)
    tolerance = NEWTON_TOL + 64 * np.finfo(float).eps * n * np.abs(kernel).max()
    for _ in range(NEWTON_STEPS):
        a = kernel @ alpha
        p, sw, chol = factor(mean + a)
        b = sw ** 2 * a + (y - p)
        c = solve_triangular(chol, sw * (kernel @ b), lower=True)
        direction = b - sw * solve_triangular(chol.T, c, lower=False) - alpha
        for _ in range(40):
            new_alpha = alpha + direction
            new_value = objective(new_alpha)
            if new_value <= value + 1e-12 * abs(value):      # rounding is no ascent
                break
            direction = direction / 2
        else:
            raise NoConvergence("a Newton step of the head's fit found no descent")
        alpha, value = new_alpha, new_value
        a = kernel @ alpha
        done = np.abs(kernel @ (y - expit(mean + a)) - a).max() < tolerance
        if done:
            p, _, chol = factor(mean + a)
            return Mode(y - p, float(-value - np.log(np.diag(chol)).sum()))
    raise NoConvergence(f"the head's fit did not converge in {NEWTON_STEPS} Newton steps")


class AnchoredHead:
    """b + beta z + w . x, anchored at (b, beta, w) = (0, beta_prior, 0); `fit` chooses the
    features' prior scale tau on the labels (evidence maximisation) and sets the weights at
    the mode."""

    def __init__(self, pool_features: np.ndarray, *, beta_prior: float, beta_var: float,
                 tau_scale: float, cv_from: int | None = None, anchor_bf: float = 1.0,
                 cv_se: float = 0.0, taus=TAU_GRID):
        x = np.asarray(pool_features, dtype=np.float64)
        self.mean, self.std = x.mean(0), x.std(0) + 1e-6
        self.beta_prior, self.beta_var, self.tau_scale = beta_prior, beta_var, tau_scale
        self.cv_from, self.anchor_bf, self.taus = cv_from, anchor_bf, tuple(taus)
        self.cv_se = cv_se
        self.beta, self.w, self.b, self.tau = beta_prior, np.zeros(x.shape[1]), 0.0, 0.0
        self.rule = "anchor"      # how tau was chosen: evidence, cross-validation, one class
        self.evidence_by_tau: dict[float, float] = {}
        self.cv_auroc_by_tau: dict[float, float] = {}
        self.cv_gain_in_se = float("nan")     # the chosen tau's held-out gain over tau 0

    def scaled(self, x) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def decision(self, x, z) -> np.ndarray:
        """The logit of p(defect) of images with features x and evidence z."""
        return self.b + self.beta * np.asarray(z, dtype=np.float64) + self.scaled(x) @ self.w

    def fit(self, x, z, y) -> float:
        """Fit on the labeled images' features x, evidence z and labels y; the labeled set's
        mean log-loss at the chosen prior's mode."""
        x, z, y = self.scaled(x), np.asarray(z, dtype=np.float64), np.asarray(y)
        n, d = x.shape
        self.evidence_by_tau, self.cv_auroc_by_tau = {}, {}
        self.cv_gain_in_se = float("nan")
        if len(np.unique(y)) < 2:
            self.beta, self.w, self.tau, self.rule = self.beta_prior, np.zeros(d), 0.0, "one class"
            share = (y.sum() + 1) / (n + 2)
            self.b = float(np.log(share / (1 - share)) - np.mean(self.beta * z))
        else:
            if self.cv_from is not None and min(y.sum(), n - y.sum()) >= self.cv_from:
                self.tau, self.rule = self._cross_validated_tau(x, z, y), "cross-validation"
            else:
                self.tau, self.rule = self._evidence_tau(x, z, y), "evidence"
            self.b, self.beta, self.w = self._weights(x, z, y, self.tau)
        t = (2.0 * y - 1) * (self.b + self.beta * z + x @ self.w)
        return float(-log_expit(t).mean())

    def _kernel(self, gram, z, tau) -> np.ndarray:
        """The prior covariance of the logits; gram = x x' / d, the features' part at tau 1."""
        return BIAS_VAR + self.beta_var * np.outer(z, z) + tau ** 2 * gram

    def _weights(self, x, z, y, tau, gram=None) -> tuple[float, float, np.ndarray]:
        """(b, beta, w) at the Laplace mode of the prior of scale tau."""
        gram = x @ x.T / x.shape[1] if gram is None else gram
        alpha = laplace_mode(self._kernel(gram, z, tau), self.beta_prior * z, y).alpha
        return (float(BIAS_VAR * alpha.sum()), float(self.beta_prior + self.beta_var * (z @ alpha)),
                tau ** 2 / x.shape[1] * (x.T @ alpha))

    def _evidence_tau(self, x, z, y) -> float:
        """MAP-II: the tau whose marginal likelihood times tau's exponential hyperprior
        (mean tau_scale) is highest; the hyperprior keeps a handful of labels from choosing
        a wide prior on a whim, and ties go to the smaller tau, nearer the anchor. The
        anchor (tau 0, the scorer alone) is left only where the chosen tau's evidence beats
        it by the Bayes factor anchor_bf: the prior odds of a spike at tau 0. A handful of
        labels that a wide prior fits barely better than the scorer (a Bayes factor near 1)
        would otherwise move the ranking of every image."""
        gram = x @ x.T / x.shape[1]
        self.evidence_by_tau = {
            t: laplace_mode(self._kernel(gram, z, t), self.beta_prior * z, y).log_evidence
            - t / self.tau_scale for t in self.taus}
        best = max(self.evidence_by_tau.values())
        if 0.0 in self.evidence_by_tau and \
                best - self.evidence_by_tau[0.0] < np.log(self.anchor_bf) - 1e-9:
            return 0.0
        return min(t for t, e in self.evidence_by_tau.items() if e >= best - 1e-9)

    def _cross_validated_tau(self, x, z, y) -> float:
        """The tau whose held-out ranking is best: CV_FOLDS folds, stratified, each image's
        held-out logit from the fit without its fold, their AUROC pooled (ties to the
        smaller tau). The folds are dealt by rank of the evidence within each class, so
        they depend on the images, never on the labeled set's order. On the ELPV pools'
        validation parts the marginal likelihood kept tau near 0 where a wider prior ranked
        better (docs/elpv.md); the held-out ranking sees that once both classes have
        `cv_from` labels."""
        fold = np.empty(len(y), dtype=int)
        for cls in (0, 1):
            members = np.flatnonzero(y == cls)
            order = members[np.lexsort((x[members].sum(1), z[members]))]
            fold[order] = np.arange(len(order)) % CV_FOLDS
        taus = [t for t in self.taus if t <= CV_TAU_MAX]
        held_out = {t: np.empty(len(y)) for t in taus}
        gram = x @ x.T / x.shape[1]
        for k in range(CV_FOLDS):
            train, test = fold != k, fold == k
            for t in taus:
                b, beta, w = self._weights(x[train], z[train], y[train], t,
                                           gram[np.ix_(train, train)])
                held_out[t][test] = b + beta * z[test] + x[test] @ w
        self.cv_auroc_by_tau = {t: roc_auc_score(y, f) for t, f in held_out.items()}
        best = max(self.cv_auroc_by_tau.values())
        chosen = min(t for t, a in self.cv_auroc_by_tau.items() if a >= best - 1e-9)
        if 0.0 in held_out:      # a grid without the anchor (a test's) has no gain over it
            self.cv_gain_in_se = self._gain_in_standard_errors(y, fold, held_out, chosen)
        if self.cv_se > 0 and chosen > 0 and not self.cv_gain_in_se > self.cv_se:
            return 0.0
        return chosen

    @staticmethod
    def _gain_in_standard_errors(y, fold, held_out, tau) -> float:
        """tau's held-out AUROC less tau 0's, fold by fold, in standard errors of their
        mean: what the one-standard-error rule (Breiman et al. 1984; Hastie et al. 2009,
        7.10) reads, towards the anchor. With 20 to 30 defects, 4 to 6 a fold, the tau with
        the best pooled held-out AUROC is often noise."""
        folds = [k for k in range(CV_FOLDS) if len(np.unique(y[fold == k])) == 2]
        diff = np.array([roc_auc_score(y[fold == k], held_out[tau][fold == k])
                         - roc_auc_score(y[fold == k], held_out[0.0][fold == k])
                         for k in folds])
        if len(diff) < 2:
            return float("nan")
        mean, se = diff.mean(), diff.std(ddof=1) / np.sqrt(len(diff))
        if se > 0:
            return float(mean / se)
        return float(np.copysign(np.inf, mean)) if mean != 0 else float("nan")

    def head_state(self) -> dict[str, torch.Tensor]:
        """The head on the unscaled features (asal/models/frozen_features.py: head_logit),
        with the prior scale the labels chose."""
        weight = self.w / self.std
        return {"weight": torch.from_numpy(weight),
                "bias": torch.tensor(self.b - float(weight @ self.mean), dtype=torch.float64),
                "beta": torch.tensor(self.beta, dtype=torch.float64),
                "tau": torch.tensor(self.tau, dtype=torch.float64)}

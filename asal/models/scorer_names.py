"""The scorers' names and the parameters each takes, without importing them (and torch):
the schema and the Snakefile, which every SLURM job parses again, need only these.
asal/models/scorers/__init__.py holds the registry of the scorers themselves; a test
checks that the two agree.

A scorer's parameters are the keyword arguments of its constructor; all but the
operational ones (how often DRAEM saves a checkpoint) name its output, beside the scorer,
its seed, the image size and train_on (asal/config/schema.py: IDENTITY).
"""

PARAMETERS = {
    "ensemble": ("ensemble", "ensemble_rule"),
    "features": ("features_k", "scorer_body", "normalize_mean", "normalize_std"),
    "patches": ("patches_top", "patches_radius", "patches_networks", "patches_reference",
                "patches_denoise", "scorer_body", "normalize_mean", "normalize_std"),
    "pixels": ("pixels_share", "pixels_tail"),
    "draem": ("draem_epochs", "draem_batch_size", "draem_lr", "draem_recon_width",
              "draem_disc_width", "draem_score_filter", "anomaly_source_dir",
              "draem_checkpoint_every"),
    "csv": ("scores_csv",),
}
OPERATIONAL = ("draem_checkpoint_every",)
SCORER_NAMES = tuple(PARAMETERS)


def identity_parameters(scorer: str, ensemble=()) -> tuple[str, ...]:
    """The parameters that name a scorer's output (an ensemble's: its members' too)."""
    names = [*PARAMETERS[scorer], *(p for m in (ensemble if scorer == "ensemble" else ())
                                    for p in PARAMETERS[m])]
    return tuple(dict.fromkeys(n for n in names if n not in OPERATIONAL))

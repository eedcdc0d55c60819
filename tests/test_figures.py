"""04's figures: one colour and marker per init in every figure, Random always grey."""

import matplotlib
import pytest

from asal import style
from asal.config.profiles import resolve
from asal.models.strategies import INIT_NAMES
from asal.project import PROJECT_ROOT
from asal.result_figures import (figure_captions, plot_comparison, plot_defects,
                                 plot_learning_curves, plot_mean_curve)
from asal.stages.gathered import gather
from asal.stages.results import build_tables

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def coldstart():
    """The committed synthetic_coldstart runs (every init), read where they are."""
    return gather(resolve("synthetic_coldstart", runs_root=str(PROJECT_ROOT / "runs")))


def _legend_colours(fig) -> dict[str, str]:
    (legend,) = fig.legends
    colours = {}
    for handle, text in zip(legend.legend_handles, legend.get_texts()):
        get = getattr(handle, "get_color", None) or handle.get_facecolor
        colours[text.get_text()] = matplotlib.colors.to_hex(get())
    return colours


def test_every_init_has_its_own_style_and_random_is_grey():
    assert set(INIT_NAMES) <= set(style.INIT_STYLE)
    colours = [style.colour(i) for i in INIT_NAMES]
    assert len(set(colours)) == len(colours) and style.colour("random") == style.RANDOM_GREY
    assert len({style.marker(i) for i in INIT_NAMES}) == len(INIT_NAMES)


def test_an_init_has_the_same_colour_in_every_figure(coldstart):
    g = coldstart
    figures = {"learning_curves": plot_learning_curves(g.cycles, {}, {}),
               "mean_learning_curve": plot_mean_curve(g.cycles, 0.9),
               "anomalies_per_cycle": plot_defects(g.cycles, {"synth_fabric": 0.2}),
               "comparison_auroc": plot_comparison(build_tables(g)["comparison_auroc"])}
    for name, fig in figures.items():
        colours = _legend_colours(fig)
        for init in INIT_NAMES:
            assert colours[init] == style.colour(init), (name, init)
        axis = fig.axes[0]
        assert "test AUROC" in axis.get_ylabel() or name == "anomalies_per_cycle"
    # the value axis shows the differences: it does not start at 0 for AUROCs near 0.7-1
    assert figures["learning_curves"].axes[0].get_ylim()[0] > 0


def test_captions_say_over_what_the_bands_are():
    c = figure_captions(5, 3, 19, True, "ensemble")
    assert "over 5 seeds" in c["learning_curves"] and "ceiling" in c["learning_curves"]
    assert "over the categories" in c["mean_learning_curve"]
    assert "'mean', over the 3 categories" in c["comparison_auroc"]

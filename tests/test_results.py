import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import wilcoxon

from asal.stages.statistics import (aubc, aubc_per_run, initial_anomalies, inits_against,
                                    last_cycle, paired_comparison)
from asal.project import PROJECT_ROOT
from asal.tools.tiny_workflow import snakemake


def test_aubc_of_known_curves():
    assert aubc([10, 20], [0.5, 0.5]) == pytest.approx(0.5)
    assert aubc([10, 11, 12, 14], [0.0, 0.5, 1.0, 1.0]) == pytest.approx((0.25 + 0.75 + 2) / 4)
    # a straight rise from 0 to 1 covers half the box
    assert aubc(np.arange(10, 20), np.linspace(0, 1, 10)) == pytest.approx(0.5)


def _cycles(values):
    rows = []
    for (cat, init, seed), curve in values.items():
        for c, v in enumerate(curve):
            rows.append({"category": cat, "init": init, "seed": seed, "cycle": c,
                         "n_labels": 10 + c, "n_anomalies": 2 + c if init == "asal" else c,
                         "auroc": v, "accuracy": v, "balanced_accuracy": v})
    return pd.DataFrame(rows)


def test_paired_comparison_on_a_constructed_case():
    values = {}
    for k, cat in enumerate(["a", "b", "c"]):
        for seed in range(3):
            values[(cat, "asal", seed)] = [0.5, 0.7 + 0.01 * k + 0.02 * seed]
            values[(cat, "random", seed)] = [0.5, 0.6 + 0.01 * seed]
    values[("c", "random", 2)] = [0.5, 0.9]          # one loss
    values[("c", "random", 1)] = [0.5, 0.74 - 0.0005]  # one tie (within 0.001)
    final = last_cycle(_cycles(values))
    result = paired_comparison(final)
    assert (result["pairs"], result["wins"], result["ties"], result["losses"]) == (9, 7, 1, 1)
    # Wilcoxon on the differences without the tie
    diffs = [values[(c, "asal", s)][1] - values[(c, "random", s)][1]
             for c in "abc" for s in range(3) if (c, s) != ("c", 1)]
    assert result["wilcoxon_p"] == pytest.approx(wilcoxon(diffs).pvalue)
    assert result["mean_difference"] == pytest.approx((sum(diffs) + 0.0005) / 9)
    areas = aubc_per_run(_cycles(values))
    assert len(areas) == 18 and areas.aubc.between(0, 1).all()


def test_every_init_against_random_with_holms_correction():
    rng = np.random.default_rng(0)
    values = {}
    for cat in "abc":
        for seed in range(4):
            base = rng.uniform(0.5, 0.6)
            values[(cat, "random", seed)] = [0.5, base]
            values[(cat, "asal", seed)] = [0.5, base + 0.1 + 0.01 * seed]     # always better
            values[(cat, "pt4al", seed)] = [0.5, base + rng.normal(0, 0.05)]  # no effect
    cycles = _cycles(values)
    final, areas = last_cycle(cycles), aubc_per_run(cycles)
    table = inits_against(final, areas, cycles).set_index("init")
    assert list(table.index) == ["asal", "pt4al", "random"]
    assert table.loc["asal", "final_wins"] == 12 and table.loc["asal", "final_losses"] == 0
    assert table.loc["asal", "final_mean_difference"] == pytest.approx(0.115)
    assert table.loc["asal", "initial_defects_mean"] == 2
    assert np.isnan(table.loc["random", "final_wilcoxon_p"])
    # Holm over the two inits compared: the smaller p times 2, the larger at least that
    p = table.loc[["asal", "pt4al"], "final_wilcoxon_p"]
    holm = table.loc[["asal", "pt4al"], "final_p_holm"]
    assert holm[p.idxmin()] == pytest.approx(min(1, 2 * p.min()))
    assert holm[p.idxmax()] == pytest.approx(max(holm[p.idxmin()], p.max()))
    assert holm["asal"] < 0.05 < holm["pt4al"]


def test_initial_anomalies_per_init():
    cycles = _cycles({("a", "asal", 0): [0.5, 0.6], ("a", "random", 0): [0.5, 0.6]})
    table = initial_anomalies(cycles).set_index("init")
    assert table.loc["asal", "mean"] == 2 and table.loc["random", "mean"] == 0


def test_dry_run_lists_the_expected_jobs(tmp_path):
    out = snakemake("-n", "--cores", "2", "--forceall", cwd=tmp_path)   # .snakemake/ there
    assert out.returncode == 0, out.stderr + out.stdout
    counts = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    # 3 categories x the default scorer on the pool x 3 tied seeds (DRAEM_normal only in
    # the coldstart profile), their batches; no pretext network (the classifier's body is
    # untrained, asal and random need no rotation ranking); 3 x 2 inits x 3 seeds; results
    assert counts["scores"] == 9 and counts["batches"] == 9 and "pretext" not in counts
    assert counts["active_learning"] == 18 and counts["results"] == 1


def test_a_misspelled_or_ill_typed_config_key_stops_before_any_job(tmp_path):
    out = snakemake("-n", "--cores", "2", "--config", "cylces=2", cwd=tmp_path)
    assert out.returncode != 0
    assert "Unknown parameter 'cylces' in --config; did you mean 'cycles'?" in out.stderr
    assert "Traceback" not in out.stderr and "Job stats" not in out.stdout
    out = snakemake("-n", "--cores", "2", "--config", "epochs=ten", cwd=tmp_path)
    assert "Parameter 'epochs' in --config must be a valid integer" in out.stderr


def test_dry_run_of_the_coldstart_experiment(tmp_path):
    out = snakemake("-n", "--cores", "2", "--forceall", "--configfile",
                     str(PROJECT_ROOT / "params" / "synthetic_coldstart.yaml"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr + out.stdout
    counts = {p[0]: int(p[1]) for p in map(str.split, out.stdout.splitlines())
              if len(p) == 2 and p[1].isdigit()}
    # the rotation network per category (pt4al, asal_rotation); the default scorer on the
    # pool and DRAEM on the good images; 3 x 7 inits x 5 seeds
    assert counts["pretext"] == 3 and counts["scores"] == 6
    assert counts["active_learning"] == 105


def test_the_tiny_profile_produces_every_table(tiny_workflow):
    # the tiny profile has cycles=1 and seeds=[1]; --config cycles=10 'seeds=[0]' reached
    # every job
    tmp_path = tiny_workflow
    runs = tmp_path / "runs" / "tiny"
    for init in ("asal", "random", "pt4al"):
        run = runs / "synth_washer" / "al" / init / "least_confidence"
        cycles = pd.read_csv(run / "seed0" / "metrics_cycle.csv")
        assert cycles.cycle.tolist() == list(range(10)), init
        assert not (run / "seed1").exists()
    written = yaml.safe_load((runs / "profile.yaml").read_text())
    assert written["cycles"] == 10 and written["seeds"] == [0] and written["exp"] == "tiny"
    figures = tmp_path / "figures" / "tiny"
    for name in ("comparison_auroc.csv", "comparison_auroc.md", "aubc_auroc.csv",
                 "paired_asal_vs_random.md", "initial_anomalies.csv",
                 "inits_vs_random.csv", "pretext_representation.csv",
                 "learning_curves.png", "comparison_auroc.pdf"):
        assert (figures / name).exists(), name
    table = pd.read_csv(figures / "comparison_auroc.csv", comment="#")
    assert set(table.category) == {"synth_washer", "mean"}
    assert {"asal_mean", "random_mean", "pt4al_mean", "ensemble_mixed",
            "draem_normal"} <= set(table.columns)
    pretext = pd.read_csv(figures / "pretext_representation.csv", comment="#")
    assert sorted(pretext.task) == ["rotation"]
    first = (figures / "comparison_auroc.csv").read_text().splitlines()[0]
    assert "experiment=tiny" in first and "protocol=clean" in first and "complete" in first
    assert "commit" not in first          # the commits are the manifest's: a rebuild that
    made = json.loads((figures / "manifest.json").read_text())     # reproduces changes none
    runs_made = [json.loads(p.read_text())
                 for p in runs.glob("*/al/*/*/seed*/provenance.json")]
    assert len(runs_made) == len(list(runs.glob("*/al/*/*/seed*/config.json")))
    assert made["runs"] == len(runs_made) and sum(made["commits"].values()) == len(runs_made)
    assert made["runs_without_provenance"] == 0
    assert set(made["commits"]) == {r["git_commit"].removesuffix("+dirty") for r in runs_made}
    assert set(made["cpus"]) == {r["cpu"] for r in runs_made}
    assert set(made["scorer_seconds_per_category"]) == {"ensemble_mixed", "draem_normal"}
    assert "seconds" not in pd.read_csv(figures / "scorers.csv", comment="#")
    for config in runs.glob("**/config.json"):         # the same on every machine
        assert "provenance" not in json.loads(config.read_text()), config
    assert made["tables_built_at"]["git_commit"]
    assert (runs / "notebooks" / "04_results.ipynb").exists()
    assert (figures / "missing_runs.txt").read_text() == ""


def test_the_workflow_prints_no_error_or_warning_line(tiny_workflow):
    # every notebook of the main command ran: a line a person sees is one to act on, never
    # a kernel's KeyboardInterrupt at its shutdown or a library's warning
    printed = (tiny_workflow / "terminal.log").read_text()
    assert "Finished jobid" in printed and "04_results" in printed
    loud = [line for line in printed.splitlines() if re.search(r"\bERROR\b|Warning", line)]
    assert loud == []


def test_the_workflow_on_unlabeled_images_stops_for_labels_then_finishes(own_waiting,
                                                                         unlabeled_root,
                                                                         tmp_path):
    """params/own.yaml on a folder of unlabeled images without a test split."""
    waiting, out = own_waiting
    shutil.copytree(waiting, tmp_path, dirs_exist_ok=True)
    params = tmp_path / "tiny_own.yaml"
    params.write_text(params.read_text().replace(str(waiting), str(tmp_path)))
    # waiting for a person is the workflow's normal stop: exit 0, with the sentence
    assert out.returncode == 0, out.stderr[-3000:]
    assert "waits for 10 labels (listed in its to_label.csv)" in out.stderr
    assert "Traceback" not in out.stderr and "Error" not in out.stderr
    assert not (tmp_path / "figures" / "tiny_own" / "comparison_auroc.csv").exists()
    # a second run before any label: the same stop, no job fails
    out = snakemake("--cores", "2", "--configfile", str(params), cwd=tmp_path)
    assert out.returncode == 0 and "waits for 10 labels" in out.stderr
    # a person labels everything at once in a spreadsheet: the next run goes to the end
    truth = pd.read_csv(unlabeled_root / "truth.csv")
    truth.assign(label=truth.label.map({0: "good", 1: "anomaly"})).to_csv(
        tmp_path / "runs" / "tiny_own" / "own" / "labels.csv", index=False)
    out = snakemake("--cores", "2", "--configfile", str(params), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    table = pd.read_csv(tmp_path / "figures" / "tiny_own" / "comparison_auroc.csv",
                        comment="#")
    assert table.asal_mean.isna().all()                  # no test split, no test metrics
    cycles = pd.read_csv(tmp_path / "runs" / "tiny_own" / "own" / "al" / "asal"
                         / "least_confidence" / "seed0" / "metrics_cycle.csv")
    assert cycles.n_labels.tolist() == [10, 11]


def test_a_caption_keeps_what_looks_like_a_tag_and_says_where_it_reads():
    import pandas as pd

    from asal.report import captioned_markdown
    from asal.stages.captions import table_captions

    text = captioned_markdown(pd.DataFrame({"a": [1.0]}), "scores of <category>/batch0.txt",
                              "seeds=0,1")
    assert text.startswith("**scores of &lt;category&gt;/batch0.txt**  \n_seeds=0,1_\n\n")
    assert table_captions("ensemble", budget=19)["comparison_auroc"].startswith(
        "Test AUROC at 19 labels")
    plain = table_captions("ensemble")["comparison_auroc"]
    assert plain.startswith("Test AUROC after the last cycle") and "(ensemble_mixed;" in plain


def test_a_wide_table_is_shown_as_tables_that_each_repeat_its_key_columns():
    from asal.report import WIDEST, table_markdown

    values = {f"v{i}": [float(i), i + 0.5] for i in range(2 * WIDEST + 1)}
    frame = pd.DataFrame({"share": ["10 %", "5 %"], "init": ["asal", "random"], **values})
    tables = table_markdown(frame).split("\n\n")
    assert len(tables) == 3
    headers = [t.splitlines()[0].split("|")[1:-1] for t in tables]
    assert all([h.strip() for h in header[:2]] == ["share", "init"] for header in headers)
    assert [len(h) - 2 for h in headers] == [WIDEST, WIDEST, 1]     # every value shown once
    shown = [h.strip() for header in headers for h in header[2:]]
    assert shown == list(values)
    assert "5 %" in tables[2] and "12.500" in tables[2]
    narrow = frame.iloc[:, :WIDEST + 2]
    assert "\n\n" not in table_markdown(narrow)

"""The paper's protocols on a tiny scene: results, resuming, and a real kill midway."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from hsaug import experiments, report, synthetic, training
from hsaug.experiments import runner
from hsaug.config import TrainSettings


@pytest.fixture(scope="module")
def scene():
    return synthetic.make_scene("paper", n_rows=12, n_cols=12, seed=0)


TINY = dict(progress=False)


def tiny(seeds, **kw):
    """Tiny training settings: ``seeds`` seeds, 2 epochs of batches of 16."""
    return TrainSettings(seeds=seeds, **{"epochs": 2, "batch_size": 16, **kw})


def test_comparison_rows_match_fit_and_baselines(scene, tmp_path):
    res = experiments.compare_augmentations(scene, ["shift", "flip"], settings=tiny(2), results_dir=tmp_path, **TINY)
    names = [r["name"] for r in res["rows"]]
    assert names == ["baseline", "shift", "flip", "ridge", "pls"]
    # the same members trained directly give the same numbers
    direct = training.fit(scene, configs=[training.Config(augmentation="flip")], settings=tiny([0, 1]), progress=False)
    np.testing.assert_allclose(res["rows"][2]["r2_mean"], direct.metrics["test_r2"].mean(), rtol=1e-6)
    assert res["rows"][1]["n_runs"] == 2 and len(res["rows"][1]["runs"]) == 2
    text = report.markdown({"target": "table1", **res})
    assert "| Shift |" in text and "0.750 ± 0.003" in text  # paper's number beside ours


def test_unknown_augmentation_fails_before_training(scene):
    with pytest.raises(ValueError, match="unknown augmentation"):
        experiments.compare_augmentations(scene, ["shift", "rotate"], settings=tiny(1), **TINY)
    with pytest.raises(ValueError, match="unknown training setting"):
        TrainSettings.build(tiny(1), epoch=3)


def test_rerun_trains_nothing(scene, tmp_path, monkeypatch):
    first = experiments.compare_augmentations(scene, ["shift"], settings=tiny(2), results_dir=tmp_path, **TINY)
    calls = []
    monkeypatch.setattr(runner, "fit", lambda *a, **k: calls.append(k) or training.fit(*a, **k))
    again = experiments.compare_augmentations(scene, ["shift"], settings=tiny(2), results_dir=tmp_path, **TINY)
    assert calls == [] and again["rows"] == first["rows"]
    # a different setting is a different run
    experiments.compare_augmentations(scene, ["shift"], settings=tiny(2, epochs=1), results_dir=tmp_path,
                                      baselines=(), **TINY)
    assert len(calls) == 1


def test_killed_run_resumes_without_losing_finished_work(tmp_path, monkeypatch):
    """Start an experiment in a subprocess, SIGKILL it after its first ensemble is stored,
    then re-run: finished runs are reused as they are, only the rest is trained."""
    script = textwrap.dedent(f"""
        import time
        from hsaug import experiments, synthetic
        from hsaug.config import TrainSettings
        scene = synthetic.make_scene("paper", n_rows=12, n_cols=12, seed=0)
        def slow(runs):
            time.sleep(60)  # the parent kills us here, after the first ensemble was stored
        experiments.compare_augmentations(scene, ["shift", "flip", "elastic"], baselines=(),
            members_per_fit=2, on_fit=slow, results_dir={str(tmp_path)!r},
            settings=TrainSettings(seeds=2, epochs=2, batch_size=16), progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    folder = tmp_path / "compare"
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(list(folder.glob("*.json"))) < 2:
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    stored = {p.name: p.read_text() for p in folder.glob("*.json")}
    assert len(stored) == 2, "the first ensemble (2 members) should have been stored before the kill"
    assert not list(folder.glob("*.tmp"))

    trained = []
    real_fit = training.fit

    def counting_fit(*args, **kwargs):
        result = real_fit(*args, **kwargs)
        trained.append(result.n_members)
        return result

    monkeypatch.setattr(runner, "fit", counting_fit)
    scene = synthetic.make_scene("paper", n_rows=12, n_cols=12, seed=0)
    res = experiments.compare_augmentations(scene, ["shift", "flip", "elastic"], settings=tiny(2), baselines=(),
                                            members_per_fit=2, results_dir=tmp_path, **TINY)
    assert sum(trained) == 8 - 2  # 4 configurations x 2 seeds, 2 were finished
    for name, text in stored.items():  # finished results untouched
        assert (folder / name).read_text() == text
    assert [r["n_runs"] for r in res["rows"]] == [2, 2, 2, 2]


def test_greedy_adds_one_augmentation_per_step(scene, tmp_path):
    g = experiments.greedy_combination(scene, ["shift", "flip", "elastic"], start="shift", max_size=3, settings=tiny(1),
                                       results_dir=tmp_path, **TINY)
    sizes = [len(r["augmentations"]) for r in g["rows"]]
    assert sizes == [1, 2, 3] and g["rows"][0]["augmentations"] == ["shift"]
    assert g["rows"][0]["delta_r2"] is None
    np.testing.assert_allclose(g["rows"][1]["delta_r2"], g["rows"][1]["r2_mean"] - g["rows"][0]["r2_mean"])
    # step 1 tried both remaining candidates, and picked the best of them on validation
    assert len(g["steps"][0]) == 2
    assert g["rows"][1]["val_r2_mean"] == max(s["val_r2_mean"] for s in g["steps"][0])
    assert "validation" in g["selection"] and "r2_mean" not in g["steps"][0][0]  # no test number behind a choice
    json.dumps(g)
    with pytest.raises(ValueError, match="start must be one of"):
        experiments.greedy_combination(scene, ["shift"], start="flip", settings=tiny(1), **TINY)


def test_error_distribution_shapes_and_consistency(scene):
    e = experiments.error_distribution(scene, "shift", settings=tiny(2), **TINY)
    assert e["error"].dims == ("method", "seed", "test_sample", "output")
    assert e.sizes["method"] == 2 and e.sizes["seed"] == 2
    np.testing.assert_allclose(e["mean_abs_error"].values, np.abs(e["error"].values).mean((1, 2)))


def test_sweep_grid_shares_the_baseline_row(scene):
    s = experiments.sweep(scene, "shift", alphas=(0.0, 0.1), rs=(0.03, 0.3), settings=tiny(2), **TINY)
    assert s["r2_mean"].shape == (2, 2)
    # alpha = 0 does not use r: the same runs fill the row
    assert s["r2_mean"].values[0, 0] == s["r2_mean"].values[0, 1]


def test_stored_runs_without_validation_r2_are_trained_again(scene, tmp_path, monkeypatch):
    """Runs stored before validation R² was kept cannot be selected on: they count as missing."""
    from hsaug.experiments import runner

    experiments.compare_augmentations(scene, ["shift"], settings=tiny(1), baselines=(), results_dir=tmp_path, **TINY)
    files = sorted((tmp_path / "compare").glob("*.json"))
    assert len(files) == 2
    old = json.loads(files[0].read_text())
    old_metrics = old["metrics"] if "metrics" in old else old["result"]["metrics"]
    assert "val_r2" in old_metrics
    old_metrics.pop("val_r2")
    files[0].write_text(json.dumps(old))
    trained = []
    real_fit = runner.fit
    monkeypatch.setattr(runner, "fit", lambda *a, **k: trained.append(1) or real_fit(*a, **k))
    res = experiments.compare_augmentations(scene, ["shift"], settings=tiny(1), baselines=(), results_dir=tmp_path,
                                            **TINY)
    assert len(trained) == 1 and all(np.isfinite(r["val_r2_mean"]) for r in res["rows"])

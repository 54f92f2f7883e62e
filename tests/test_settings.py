"""TrainSettings (typed once, defaults in one place) and the faults a battery of bad inputs found."""

import json

import numpy as np
import pytest
import torch

from hsaug import cli, experiments, reproduction, synthetic
from hsaug.config import RNC_MIN_TAU, Config, TrainSettings
from hsaug.models import FEATURE_WIDTHS
from hsaug.splits import check_split_rows, split_indices
from hsaug.store import CorruptRunWarning, ResultStore
from hsaug.training import fit

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def scene():
    return synthetic.make_scene("paper", n_rows=10, n_cols=10, seed=0)


QUICK = dict(epochs=2, batch_size=16, progress=False)


# -- the settings object ---------------------------------------------------------------------------
def test_defaults_live_in_one_place_and_key_old_stores_identically():
    s = TrainSettings()
    assert (s.epochs, s.batch_size, s.lr, s.seeds, s.patience) == (100, 32, 1e-3, (0,), "auto")
    # "auto": epochs are a selection on validation data, 10 % of the epochs (at least 5) without improvement
    assert s.early_stopping == 10 and s.run_key["patience"] == 10
    assert TrainSettings(epochs=20).early_stopping == 5 and TrainSettings(epochs=1000).early_stopping == 100
    assert TrainSettings(val_fraction=0.0).early_stopping is None  # no validation set: every epoch
    assert TrainSettings(patience=None).early_stopping is None and TrainSettings(patience=3).early_stopping == 3
    # the dict stored runs were keyed by before TrainSettings existed: old stores stay reusable (they were
    # trained on the spectra as given, preprocess "none"; the default "standardize" keys runs of its own)
    assert s.preprocess == "standardize" and s.run_key["preprocess"] == "standardize"
    assert TrainSettings(preprocess="none", patience=None).run_key == {"epochs": 100, "batch_size": 32, "lr": 1e-3, "val_fraction": 0.1, "test_fraction": 0.1,
                         "split_seed": 0, "patience": None}
    split = {"train": np.arange(5, 20), "val": [0, 1], "test": np.array([2, 3, 4])}
    assert s.replace(split=split).run_key["split"] == {"train": list(range(5, 20)), "val": [0, 1], "test": [2, 3, 4]}
    assert TrainSettings(seeds=3).seeds == (0, 1, 2) and TrainSettings(seeds=[4, 7]).seeds == (4, 7)
    assert "feature_widths" not in TrainSettings(feature_widths=FEATURE_WIDTHS).run_key
    json.dumps(s.to_dict())
    with pytest.raises(Exception):
        s.epochs = 3  # frozen


@pytest.mark.parametrize("change, match", [
    ({"epochs": 0}, r"epochs \(passes over the training set\) must be a positive integer; got 0"),
    ({"epochs": 2.5}, "epochs .* must be a positive integer; got 2.5"),
    ({"batch_size": True}, "batch_size .* got True"),
    ({"lr": -1}, r"lr \(the learning rate\) must be > 0"),
    ({"seeds": 0}, "seeds must be a positive number of seeds"),
    ({"seeds": [1, 1]}, "seeds must be distinct"),
    ({"val_fraction": 1.0}, r"val_fraction must be a fraction in \[0, 1\); got 1.0"),
    ({"val_fraction": 0.5, "test_fraction": 0.5}, "val_fraction \\+ test_fraction must be < 1"),
    ({"split_seed": -1}, "split_seed must be a non-negative integer"),
    ({"device": "tpu"}, "device must be 'cpu', 'cuda', 'cuda:N' or 'auto'; got 'tpu'"),
    ({"feature_widths": [0]}, "feature_widths"),
    ({"threads": 0}, "threads"),
    ({"split": {"val": [1]}}, "split must be a dict with 'train'"),
])
def test_bad_settings_name_argument_value_and_what_is_accepted(change, match):
    with pytest.raises(ValueError, match=match):
        TrainSettings(**change)


def test_unknown_setting_is_refused_with_the_accepted_names():
    with pytest.raises(ValueError, match=r"unknown training setting\(s\) \['epoch'\]; accepted: \['epochs'"):
        TrainSettings.build(None, epoch=3)
    with pytest.raises(ValueError, match="unknown training setting"):
        fit(np.zeros((20, 4)), np.zeros(20), np.arange(4.0) + 500, epoch=3)


def test_settings_pass_down_unchanged(scene, monkeypatch):
    """A protocol hands fit the very settings object it got (seeds cut per ensemble only)."""
    from hsaug.experiments import runner as ex_module

    seen = []
    real_fit = fit
    monkeypatch.setattr(ex_module, "fit", lambda *a, **k: seen.append(k["settings"]) or real_fit(*a, **k))
    settings = TrainSettings(seeds=2, **{k: v for k, v in QUICK.items() if k != "progress"})
    experiments.compare_augmentations(scene, ["shift"], settings=settings, baselines=(), progress=False)
    assert seen and all(s.replace(seeds=settings.seeds) == settings for s in seen)


def test_reproduction_builds_settings_from_the_presets():
    s = reproduction.train_settings("table1", quick=True)
    assert (s.epochs, s.seeds) == (10, (0, 1))
    assert reproduction.train_settings("sweep").seeds == (0, 1, 2)
    assert reproduction.train_settings("table2", epochs=7, seeds=1).run_key["epochs"] == 7
    with pytest.raises(ValueError, match="target must be one of"):
        reproduction.train_settings("table9")


# -- faults: diverging training ----------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 1e6}, r"member 'shift' \(seed 0; .*\) has a NaN training loss in epoch 1; lower lr"),
    ({"configs": [Config.baseline(), Config("shift", alpha=1e38)]},
     r"member 'shift' \(seed 0; alpha=1e\+38.*\) has an infinite training loss in epoch 1"),
])
def test_diverging_training_stops_naming_member_and_epoch(scene, kwargs, match):
    kwargs = {"configs": [Config("shift")], **kwargs}
    with pytest.raises(FloatingPointError, match=match):
        fit(scene, **QUICK, **kwargs)


def test_tau_is_bounded_where_the_loss_is_unsafe():
    with pytest.raises(ValueError, match=r"tau .* must be >= 0.003 with loss='rnc'.*got 1e-05"):
        Config("shift", loss="rnc", tau=1e-5)
    assert Config("shift", loss="rnc", tau=RNC_MIN_TAU).tau == RNC_MIN_TAU
    Config("shift", loss="ball", tau=1e-5)  # the ball loss's log-sum-exp is safe at any τ


def test_rnc_at_its_smallest_tau_trains_finite(scene):
    res = fit(scene, configs=[Config("shift", loss="rnc", tau=RNC_MIN_TAU)], **QUICK)
    assert np.isfinite(res.history["loss"]).all()


# -- faults: splits --------------------------------------------------------------------------------
def test_overlapping_or_duplicated_split_is_refused(scene):
    with pytest.raises(ValueError, match=r"split\['train'\] and split\['test'\] share 1 row\(s\) \(e.g. \[12\]\)"):
        fit(scene, split={"train": list(range(10, 80)), "test": [7, 12], "val": [9]}, **QUICK)
    with pytest.raises(ValueError, match=r"split\['val'\] and split\['test'\] share"):
        check_split_rows({"train": [0, 1], "val": [2, 3], "test": [3]})
    with pytest.raises(ValueError, match=r"split\['train'\] lists rows more than once: \[5\]"):
        fit(scene, split={"train": [5, 5, 6] + list(range(20, 60)), "test": [1, 2]}, **QUICK)
    with pytest.raises(ValueError, match="integer row indices"):
        check_split_rows({"train": [0.5, 1]})
    with pytest.raises(ValueError, match="share"):
        TrainSettings(split={"train": [1, 2], "test": [2]})


def test_too_few_rows_to_split_is_a_clear_error(scene):
    with pytest.raises(ValueError, match=r"val_fraction=0.1 of 1 rows gives no rows .* too few rows to split; "
                                         r"give at least 6 rows"):
        fit(scene.isel(sample=[0]), **{**QUICK, "batch_size": 1})
    with pytest.raises(ValueError, match="test_fraction=0.1 of 4 rows gives no rows"):
        split_indices(4, 0.0, 0.1)
    assert split_indices(6, 0.1, 0.1)["test"].size == 1


# -- faults: bad inputs ----------------------------------------------------------------------------
def test_cuda_on_a_cpu_build_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA is present here")
    with pytest.raises(ValueError, match="device 'cuda' was asked for but CUDA is not available here"):
        TrainSettings(device="cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        reproduction.train_settings("table1", device="cuda")


def test_string_labels_name_target(scene):
    x, wl = scene["spectra"].values, scene["wavelength"].values
    with pytest.raises(ValueError, match="target must hold numbers"):
        fit(x, np.array(["a"] * x.shape[0]), wl, **QUICK)


# -- faults: stored runs and the command line ---------------------------------------------------------
@pytest.mark.parametrize("damage", ["truncate", "empty", "no_metrics", "not_json_object"])
def test_corrupt_stored_run_is_named_and_trained_again(scene, tmp_path, damage):
    settings = TrainSettings(seeds=1, epochs=2, batch_size=16)
    first = experiments.compare_augmentations(scene, ["shift"], settings=settings, baselines=(), results_dir=tmp_path,
                                              progress=False)
    files = sorted((tmp_path / "compare").glob("*.json"))
    bad = files[0]
    text = bad.read_text()
    bad.write_text({"truncate": text[: len(text) // 2], "empty": "",
                    "no_metrics": json.dumps({"config": {}, "result": {"seed": 0}}),
                    "not_json_object": "[1, 2]"}[damage])
    with pytest.warns(CorruptRunWarning, match=f"stored run {bad} is unreadable .*trained again"):
        again = experiments.compare_augmentations(scene, ["shift"], settings=settings, baselines=(),
                                                  results_dir=tmp_path, progress=False)
    assert again["rows"] == first["rows"]  # retrained to the same numbers, and stored again
    assert json.loads(bad.read_text())["result"]["metrics"]
    assert len(ResultStore(tmp_path, "compare").all()) == len(files)


def test_out_naming_a_file_is_a_one_line_error(tmp_path, capsys):
    f = tmp_path / "results.txt"
    f.write_text("")
    assert cli.main(["reproduce", "table1", "--quick", "--out", str(f)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file; give a folder" in err


def test_ctrl_c_prints_one_line_saying_what_is_stored_and_how_to_resume(tmp_path, capsys, monkeypatch):
    import papermill

    (tmp_path / "runs" / "compare").mkdir(parents=True)
    for i in range(3):
        (tmp_path / "runs" / "compare" / f"{i}.json").write_text("{}")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(papermill, "execute_notebook", interrupted)
    assert cli.main(["reproduce", "table1", "--quick", "--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "interrupted; 3 finished run(s) are stored" in err and "run the same command again to resume" in err


def test_rerun_says_how_many_runs_it_reused(scene, tmp_path, capsys):
    settings = TrainSettings(seeds=2, epochs=1, batch_size=16)
    experiments.compare_augmentations(scene, ["shift"], settings=settings, baselines=(), results_dir=tmp_path,
                                      progress=False)
    experiments.compare_augmentations(scene, ["shift", "flip"], settings=settings, baselines=(),
                                      results_dir=tmp_path, progress=True)
    assert "compare: 4 of 6 runs reused from" in capsys.readouterr().out


# -- layout ------------------------------------------------------------------------------------------
def test_statistics_plots_and_reports_import_no_training_code():
    import subprocess
    import sys

    code = ("import sys, hsaug.stats, hsaug.report, hsaug.metrics, hsaug.config, hsaug.splits; "
            "print(sorted(m for m in sys.modules if m in ('hsaug.training', 'hsaug.experiments')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_config_ranges_select_the_authors_draws_and_keep_default_keys():
    from hsaug import augment
    from hsaug.config import Config

    default, authors = Config("shift"), Config("shift", ranges="authors")
    assert "ranges" not in default.to_dict()  # stored runs on the default ranges keep their keys
    assert authors.to_dict()["ranges"] == "authors" and "authors" in authors.label
    assert authors._aug_key != default._aug_key  # never share one augmentation object
    assert authors.build().ranges["delta"] == augment.get("shift", ranges="authors").ranges["delta"]
    assert default.build().ranges["delta"] == augment.get("shift").ranges["delta"]
    with pytest.raises(ValueError, match="ranges must be one of"):
        Config("shift", ranges="wild")


def test_paper_protocol_is_raw_inputs_and_a_fixed_schedule():
    from hsaug.experiments.runner import protocol_inputs

    paper = TrainSettings.paper(seeds=3)
    assert (paper.preprocess, paper.patience, paper.early_stopping) == ("none", None, None)
    assert TrainSettings().preprocess == "standardize" and TrainSettings().early_stopping is not None
    assert reproduction.train_settings("table1").preprocess == "none"
    ds = synthetic.make_scene("paper", n_rows=6, n_cols=6, seed=0)
    assert protocol_inputs(ds, None)[1] == TrainSettings.paper()  # the paper's protocols default to it

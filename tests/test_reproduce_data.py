"""`hsaug reproduce --data`: the data as declared for every method, the conversions said, the user's own
title and targets, the reader options shared with `hsaug train`, and member groups on a dask cluster."""

import json
import socket

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hsaug import cli, report, reproduction, synthetic
from hsaug.baselines import fit_baselines
from hsaug.config import TrainSettings
from hsaug.experiments import runner
from hsaug.splits import fold_split


def _absorbance_csv(path, n=60, bands=40, seed=0):
    """A labelled CSV of absorbance spectra A = -log10 R with an id column and two targets."""
    rng = np.random.default_rng(seed)
    wl = np.linspace(1000, 2400, bands)
    soc = rng.uniform(0.5, 4.0, n)
    refl = 0.3 + 0.05 * np.sin(wl / 150.0)[None, :] - 0.04 * soc[:, None] + rng.normal(0, 0.003, (n, bands))
    frame = pd.DataFrame(-np.log10(refl), columns=[f"{w:.1f}" for w in wl])
    frame["SOC"], frame["clay"], frame["id"] = soc, rng.uniform(5, 40, n), np.arange(n)
    frame.to_csv(path, index=False)
    return path


READER = {"target": "SOC", "quantity": "absorbance", "id_column": "id"}


def test_real_data_is_used_as_declared_and_every_conversion_is_said(tmp_path):
    path = _absorbance_csv(tmp_path / "mine.csv")
    settings = TrainSettings(epochs=1, seeds=1, batch_size=16, preprocess="none")
    res = reproduction.reproduce_real("table2", data=path, reader=READER, augmentations=("shift", "scattering"),
                                      settings=settings, output_dir=tmp_path / "out", progress=False)
    section = res["sections"][0]
    # ridge on the absorbance as read, not on a reflectance copy
    from hsaug.readers import read_dataset

    ds = read_dataset(path, **READER)
    assert ds.attrs["quantity"] == "absorbance"
    direct = fit_baselines(ds, methods=["ridge"], settings=settings)
    ridge = next(r for r in section["rows"] if r["name"] == "ridge")
    assert ridge["r2_mean"] == pytest.approx(direct["ridge"]["test_r2"], abs=1e-12)
    notes = " ".join(section["notes"])
    assert "used as declared (absorbance)" in notes
    assert "'scattering'" in notes and "R = 10^(-A)" in notes and "'shift'" not in notes
    # the user's file: its own title and targets, none of the paper's soil columns
    md = report.markdown(res)
    assert "### table2: Regression results on mine.csv" in md
    assert "real soil" not in md and "(paper)" not in md and "Targets: SOC" in md


def test_unconvertible_data_leave_the_physics_out_saying_why(tmp_path):
    path = _absorbance_csv(tmp_path / "mine.csv")
    settings = TrainSettings(epochs=1, seeds=1, batch_size=16, preprocess="none")
    res = reproduction.reproduce_real("table2", data=path, reader={"target": "SOC", "id_column": "id"},
                                      augmentations=("shift", "atmospheric"), settings=settings,
                                      output_dir=tmp_path / "out", progress=False)
    section = res["sections"][0]
    assert [r["name"] for r in section["rows"]][:2] == ["baseline", "shift"]
    assert any(n.startswith("left out ['atmospheric']") for n in section["notes"])


def test_bundled_soil_keeps_the_papers_title_and_columns():
    md = report.markdown({"target": "table2", "sections": [{
        "kind": "comparison", "subtitle": "LimeSoDa SSP.460", "rows": [
            {"name": "baseline", "r2_mean": 0.5, "r2_std": 0.1, "mae_mean": 0.3, "mae_std": 0.0, "n_runs": 2}]}]})
    assert "real soil data" in md and "R² (paper)" in md


def test_reader_options_are_one_helper_shared_by_train_and_reproduce(tmp_path, monkeypatch):
    parser = cli._parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices

    def reader_flags(p):
        return {s for a in p._actions for s in a.option_strings
                if a.dest in ("target_column", "targets", "quantity", "reflectance_scale", "id_column",
                              "wavelength_file", "bands")}

    assert reader_flags(sub["train"]) == reader_flags(sub["reproduce"]) == {
        "--target", "--targets", "--quantity", "--reflectance-scale", "--id-column", "--wavelength-file", "--bands"}
    path = _absorbance_csv(tmp_path / "mine.csv")
    (tmp_path / "wl.txt").write_text("\n".join(str(v) for v in np.linspace(1000, 2400, 40)))
    seen = {}

    def fake(target, **kw):
        seen.update(kw, target=target)
        return []

    monkeypatch.setattr(cli, "reproduce", fake)
    assert cli.main(["reproduce", "table2", "--data", str(path), "--target", "SOC", "--quantity", "absorbance",
                     "--id-column", "id", "--reflectance-scale", "1", "--bands", "sort"]) == 0
    assert seen["target"] == "table2"
    assert seen["reader"] == {"target": "SOC", "quantity": "absorbance", "id_column": "id", "bands": "sort",
                              "reflectance_scale": 1.0}
    (tmp_path / "cube.mat").write_bytes(b"")  # the MATLAB reader takes a wavelength list (not read: faked)
    assert cli.main(["reproduce", "table2", "--data", str(tmp_path / "cube.mat"),
                     "--wavelength-file", str(tmp_path / "wl.txt")]) == 0
    assert seen["reader"]["wavelength"] == pytest.approx(np.linspace(1000, 2400, 40).tolist())
    json.dumps(seen["reader"])  # a papermill parameter
    # CSV headers carry the wavelengths: the flag is refused by name
    assert cli.main(["reproduce", "table2", "--data", str(path), "--wavelength-file", str(tmp_path / "wl.txt")]) == 1
    # a reader flag without --data, and one the file's reader has no use for, are refused by name
    assert cli.main(["reproduce", "table2", "--quantity", "absorbance"]) == 1
    assert cli.main(["reproduce", "table2", "--data", str(path), "--targets", "t.csv"]) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_address_that_does_not_answer_is_a_clear_error_in_time():
    import time

    t0 = time.perf_counter()
    with pytest.raises(ConnectionError, match="no dask scheduler answered within 2 s"):
        runner.check_scheduler(f"tcp://127.0.0.1:{_free_port()}", timeout=2)
    assert time.perf_counter() - t0 < 20
    assert cli.main(["reproduce", "table1", "--scheduler", f"127.0.0.1:{_free_port()}", "--timeout", "1"]) == 1


def test_member_groups_on_a_local_cluster_give_the_in_process_numbers(tmp_path):
    distributed = pytest.importorskip("distributed")
    scene = synthetic.make_scene("paper", n_rows=10, n_cols=10, seed=0)
    settings = TrainSettings(epochs=2, seeds=2, batch_size=16, preprocess="none", threads=1)
    common = dict(settings=settings, progress=False, baselines=())
    from hsaug import experiments

    here = experiments.compare_augmentations(scene, ["shift", "scattering"], results_dir=tmp_path / "here",
                                             members_per_fit=2, **common)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        with runner.on_cluster(lc.scheduler_address, timeout=30):
            there = experiments.compare_augmentations(scene, ["shift", "scattering"], results_dir=tmp_path / "there",
                                                      members_per_fit=2, **common)
    for a, b in zip(here["rows"], there["rows"]):
        assert a["name"] == b["name"]
        assert [r["r2"] for r in a["runs"]] == [r["r2"] for r in b["runs"]]
        assert [r["mae"] for r in a["runs"]] == [r["mae"] for r in b["runs"]]
    stored = list((tmp_path / "there" / "compare").glob("*.json"))
    assert len(stored) == 6  # every run written by a worker to the store
    # a rerun here reuses them all
    again = experiments.compare_augmentations(scene, ["shift", "scattering"], results_dir=tmp_path / "there",
                                              members_per_fit=2, **common)
    assert [r["r2_mean"] for r in again["rows"]] == [r["r2_mean"] for r in there["rows"]]


def test_a_cluster_needs_a_results_folder(tmp_path):
    distributed = pytest.importorskip("distributed")
    scene = synthetic.make_scene("paper", n_rows=8, n_cols=8, seed=0)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as lc:
        with runner.on_cluster(lc.scheduler_address):
            with pytest.raises(ValueError, match="needs results_dir"):
                runner.run_configs(scene, [reproduction.experiments.runner.Config.baseline()],
                                   TrainSettings(epochs=1, batch_size=8), progress=False)


def test_practitioner_default_is_early_stopping_and_the_presets_keep_the_papers_schedule(tmp_path, capsys):
    for target in reproduction.TARGET_PROTOCOL:
        s = reproduction.train_settings(target, quick=True)
        assert s.patience is None and s.early_stopping is None and s.preprocess == "none"
    from hsaug import maps
    from hsaug.predictor import load_model
    from hsaug.training import fit

    files = maps.example_files(tmp_path, n_rows=12, n_cols=12)
    ds = xr.open_dataset(files["labelled"], engine="h5netcdf").load()
    res = fit(ds, configs=[None], epochs=30, lr=0.02, progress=False)  # fit's defaults otherwise
    assert res.settings["patience"] == 5
    best, stop = int(res.best_epoch[0]), int(res.epochs_trained[0])
    assert stop == 30 or stop - best == 5
    # the kept weights are the best epoch's
    assert res.metrics["val_r2"][0] == pytest.approx(res.history["val_r2"][0][best - 1], abs=1e-9)
    out = tmp_path / "m.safetensors"
    assert cli.main(["train", str(files["labelled"]), "--epochs", "20", "--out", str(out)]) == 0
    assert "early stopping with patience 5" in capsys.readouterr().out
    assert load_model(out).training["settings"]["patience"] == 5
    assert cli.main(["train", str(files["labelled"]), "--epochs", "3", "--patience", "none", "--out", str(out),
                     "--overwrite"]) == 0
    assert "early stopping" not in capsys.readouterr().out and load_model(out).training["settings"]["patience"] is None
    with pytest.raises(SystemExit):
        cli.main(["train", str(files["labelled"]), "--patience", "0", "--out", str(out)])


def test_robustness_on_a_local_cluster_gives_the_in_process_numbers(tmp_path):
    """The robustness protocol's evaluation (a closure over the perturbed test sets) travels to the workers."""
    distributed = pytest.importorskip("distributed")
    settings = TrainSettings(epochs=1, seeds=2, batch_size=16, preprocess="none", patience=None, threads=1)
    kw = dict(settings=settings, train_sizes=(None,), nuisances=["noise"], quick=True, progress=False,
              alphas=(), rs=(), losses=("ball",))
    here = reproduction.reproduce_robustness(output_dir=tmp_path / "here", **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        there = reproduction.reproduce_robustness(output_dir=tmp_path / "there", scheduler=lc.scheduler_address, **kw)
    np.testing.assert_array_equal(here["r2"].values, there["r2"].values)
    assert (tmp_path / "there" / "runs" / "robustness").is_dir()


@pytest.mark.slow
def test_cli_reproduce_on_a_scheduler_gives_the_in_process_table(tmp_path):
    """`hsaug reproduce table2 --data … --scheduler ADDRESS` as a user runs it: the same table as without."""
    import subprocess
    import sys

    distributed = pytest.importorskip("distributed")
    _absorbance_csv(tmp_path / "mine.csv")
    args = ["reproduce", "table2", "--quick", "--seeds", "1", "--epochs", "1", "--data", "mine.csv", "--target",
            "SOC", "--id-column", "id", "--quantity", "absorbance"]

    def run(*extra):
        proc = subprocess.run([sys.executable, "-m", "hsaug.cli", *args, *extra], cwd=tmp_path, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        return json.loads((tmp_path / extra[-1] / "table2.json").read_text())["sections"][0]

    here = run("--out", "here")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        there = run("--scheduler", lc.scheduler_address, "--out", "there")
    assert [r["r2_mean"] for r in here["rows"]] == [r["r2_mean"] for r in there["rows"]]
    assert there["notes"] == here["notes"] and there["title"] == "mine.csv"

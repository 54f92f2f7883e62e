"""Every notebook executed by papermill at tiny parameters, and `hsaug reproduce` as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill as pm
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

TINY = {
    "01-explore-augmentations": {"interactive": False},
    "02-contrastive-loss": {"interactive": False, "n": 6},
    "03-train": {"interactive": False, "epochs": 2},
    "04-reproduce-tables": {"quick": True, "seeds": 1, "epochs": 2, "presets": ["paper"]},
    "05-error-distribution": {"quick": True, "seeds": 1, "epochs": 2},
    "06-real-data": {"quick": True, "seeds": 1, "epochs": 2},
    "07-robustness": {"quick": True, "seeds": 2, "epochs": 2},
    "08-your-data": {"quick": True, "seeds": 1, "epochs": 2},
}

pytestmark = pytest.mark.slow


def test_every_notebook_has_tiny_parameters_and_clean_source():
    assert {p.stem for p in NOTEBOOKS} == set(TINY)
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata.kernelspec.name == "python3", path
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{path.name} has outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_under_papermill(path, tmp_path):
    params = {**TINY[path.stem], "output_dir": str(tmp_path / "out")} if path.stem != "01-explore-augmentations" \
        else TINY[path.stem]
    out = tmp_path / path.name
    pm.execute_notebook(str(path), str(out), parameters=params, kernel_name="python3", progress_bar=False,
                        cwd=str(tmp_path))
    executed = nbformat.read(out, as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    if path.stem.startswith(("04", "06")):
        target = "table1" if path.stem.startswith("04") else "table2"
        result = json.loads((tmp_path / "out" / f"{target}.json").read_text())
        rows = result["sections"][0]["rows"]
        assert rows[0]["name"] == "baseline" and all(np.isfinite(r["r2_mean"]) for r in rows)
    if path.stem.startswith("08"):  # a model file and a map of the synthetic scene, NaN-free
        from hsaug.predictor import load_model

        assert load_model(tmp_path / "out" / "model.safetensors").preprocess.spec == "standardize"
        written = xr.open_dataarray(tmp_path / "out" / "map.nc")
        assert written.dims == ("y", "x", "output") and np.isfinite(written.values).all()
    if path.stem.startswith("07"):
        result = xr.open_dataset(tmp_path / "out" / "robustness.nc")
        assert np.isfinite(result["r2"].values).all() and result.sizes["seed"] == 2
        assert "#### R² under calibration_shift" in (tmp_path / "out" / "robustness.md").read_text()


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "hsaug.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_cli_reproduce_writes_json_markdown_and_executed_notebook(tmp_path):
    proc = _cli("reproduce", "table1", "--quick", "--seeds", "1", "--epochs", "1", "--out", "res", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    res = tmp_path / "res"
    md = (res / "table1.md").read_text()
    assert "| Shift |" in md and "0.750 ± 0.003" in md  # ours beside the paper's
    assert (res / "notebooks" / "04-reproduce-tables.table1.ipynb").exists()
    data = json.loads((res / "table1.json").read_text())
    assert [s["subtitle"] for s in data["sections"]] == ["paper preset", "hard preset"]


def test_cli_reproduce_table2_on_a_users_csv(tmp_path):
    rng = np.random.default_rng(0)
    wl = np.linspace(1000, 2400, 60)
    soc = rng.uniform(0.5, 4.0, 80)
    spectra = 0.3 + 0.05 * np.sin(wl / 150.0)[None, :] - 0.02 * soc[:, None] + rng.normal(0, 0.003, (80, 60))
    frame = pd.DataFrame(spectra, columns=[f"{w:.1f}" for w in wl])
    frame["SOC"] = soc
    frame.to_csv(tmp_path / "mine.csv", index=False)
    proc = _cli("reproduce", "table2", "--quick", "--seeds", "1", "--epochs", "2", "--data", "mine.csv",
                "--out", "res", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    md = (tmp_path / "res" / "table2.md").read_text()
    assert "mine.csv" in md and "| Baseline (no contrastive) |" in md


def test_cli_failure_names_notebook_cell_and_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    proc = _cli("reproduce", "table2", "--quick", "--data", str(bad), "--out", "res", cwd=tmp_path)
    assert proc.returncode == 1
    assert "06-real-data.ipynb failed in cell" in proc.stderr and "ValueError" in proc.stderr
    assert "bad.csv" in proc.stderr


def test_cli_rejects_bad_arguments(tmp_path):
    assert _cli("reproduce", "table9", cwd=tmp_path).returncode != 0
    proc = _cli("reproduce", "table1", "--seeds", "0", cwd=tmp_path)
    assert proc.returncode == 1 and "--seeds must be >= 1" in proc.stderr
    proc = _cli("reproduce", "table2", "--data", "missing.csv", cwd=tmp_path)
    assert proc.returncode == 1 and "does not exist" in proc.stderr


def test_cli_reproduce_robustness_on_unknown_quantity_skips_the_physics(tmp_path):
    rng = np.random.default_rng(1)
    wl = np.linspace(1000, 2400, 50)
    soc = rng.uniform(0.5, 4.0, 300)
    spectra = 0.5 + 0.1 * np.cos(wl / 200.0)[None, :] + 0.03 * soc[:, None] + rng.normal(0, 0.003, (300, 50))
    ds = xr.Dataset({"spectra": (("sample", "wavelength"), spectra), "target": (("sample", "output"), soc[:, None])},
                    coords={"wavelength": wl, "output": ["SOC"]})  # no quantity: not known to be reflectance
    ds["wavelength"].attrs["units"] = "nm"
    ds.to_netcdf(tmp_path / "mine.nc")
    proc = _cli("reproduce", "robustness", "--quick", "--seeds", "2", "--epochs", "1", "--data", "mine.nc",
                "--out", "res", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    md = (tmp_path / "res" / "robustness.md").read_text()
    assert "Skipped illumination: illumination needs reflectance" in md
    assert "Skipped endmember_variability" in md and "#### R² under noise" in md
    assert "augmentation=shift\n" in md
    assert _cli("reproduce", "fig3", "--preset", "hard", cwd=tmp_path).returncode == 1


def test_cli_reproduce_sweep_writes_the_alpha_r_grid(tmp_path):
    proc = _cli("reproduce", "sweep", "--quick", "--seeds", "2", "--epochs", "1", "--preset", "hard", "--out", "res",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    md = (tmp_path / "res" / "sweep.md").read_text()
    assert "### Test R² over α × r, shift, hard preset" in md and md.count("\n| ") == 6  # header + 5 alphas
    grid = xr.open_dataset(tmp_path / "res" / "sweep-hard.nc")
    assert grid["r2_mean"].shape == (5, 4) and np.isfinite(grid["r2_mean"].values).all()
    # alpha = 0 has no contrastive term: one baseline run per seed fills the whole row
    assert np.ptp(grid["r2_mean"].values[0]) == 0

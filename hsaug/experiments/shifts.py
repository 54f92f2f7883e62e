"""Shifts the model never saw: the robustness protocol over every nuisance, in- and out-of-distribution.

:func:`shifts` trains the plain MLP, the MLP on MSE over augmented views (``mlp + aug``),
the paper's contrastive model at the authors' α = 0.001, r = 0.03 and a stronger one
(α = 0.01, r = 0.3) — all with shift+atmospheric+scattering — plus ridge and PLS, on the
whole training part, and scores them under every nuisance of :mod:`hsaug.nuisances`
(:func:`hsaug.experiments.robustness.robustness`, so runs are stored and resumed).
:func:`shifts_markdown` tabulates R² at each nuisance's strongest setting, the plain MLP's
R² and every other method's paired difference from it (± 95 % t over seeds), with each
nuisance marked in- or out-of-distribution.

    python -m hsaug.experiments.shifts paper results/shifts_paper   # 3 seeds, 100 epochs, 1 thread
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..config import Config, TrainSettings
from ..nuisances import get as get_nuisance
from ..stats import t_half_width

__all__ = ["SHIFT_AUGMENTATION", "shift_methods", "shifts", "shifts_markdown"]

SHIFT_AUGMENTATION = "shift+atmospheric+scattering"


def shift_methods(augmentation: Any = SHIFT_AUGMENTATION) -> list[Config]:
    """The four MLP methods compared under shifts (names as in the robustness tables)."""
    return [Config.baseline("mlp"), Config(augmentation, alpha=0.0, mse_on_views=True, name="mlp + aug"),
            Config(augmentation, alpha=0.001, r=0.03, name="ball α=0.001 r=0.03"),
            Config(augmentation, alpha=0.01, r=0.3, name="ball α=0.01 r=0.3")]


def shifts(dataset: xr.Dataset, *, settings: TrainSettings | None = None, results_dir: str | Path | None = None,
           progress: bool = True) -> xr.Dataset:
    """The robustness result (method, train_size = all, seed, cell) over every nuisance. Default
    settings: 3 seeds, the paper's protocol (:meth:`TrainSettings.paper`: raw inputs, fixed schedule), as measured in docs/science.md."""
    from .robustness import robustness

    settings = settings or TrainSettings.paper(seeds=(0, 1, 2))
    return robustness(dataset, methods=shift_methods(), train_sizes=(None,), settings=settings,
                      results_dir=results_dir, progress=progress)


def shifts_markdown(result: xr.Dataset, reference: str = "mlp") -> str:
    """R² of ``reference`` and paired ΔR² of the others at each nuisance's strongest setting."""
    methods = [str(m) for m in result["method"].values]
    r2 = result["r2"].isel(train_size=-1).transpose("method", "cell", "seed").values
    nuis = [str(n) for n in result["nuisance"].values]
    strength = result["strength"].values
    cells = [int(np.flatnonzero(np.array(nuis) == "clean")[0])]
    for name in dict.fromkeys(n for n in nuis if n != "clean"):
        idx = np.flatnonzero(np.array(nuis) == name)
        cells.append(int(idx[np.argmax(np.abs(strength[idx]))]))
    ref = methods.index(reference)
    head = ["nuisance", "in-dist.", "strength", f"`{reference}` R²"] + [f"Δ `{m}`" for m in methods if m != reference]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in cells:
        name = nuis[c]
        if name == "clean":
            kind, unit = "–", ""
        else:
            nz = get_nuisance(name)
            kind, unit = ("yes" if nz.in_distribution else "**no**"), nz.unit
        row = [f"`{name}`", kind, f"{strength[c]:g} {unit}".strip(), f"{r2[ref, c].mean():.3f}"]
        for k, m in enumerate(methods):
            if k == ref:
                continue
            d = r2[k, c] - r2[ref, c]
            mean, half = d.mean(), float(t_half_width(d, 0.95))
            txt = f"{mean:+.3f} ± {half:.3f}" if np.isfinite(half) else f"{mean:+.3f}"
            row.append(f"**{txt}**" if np.isfinite(half) and abs(mean) > half else txt)
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _main(argv: list[str]) -> None:  # pragma: no cover - a command-line convenience
    from ..synthetic import make_scene

    preset, out = argv[0], Path(argv[1])
    res = shifts(make_scene(preset, seed=0), settings=TrainSettings.paper(seeds=(0, 1, 2), threads=1),
                 results_dir=out,
                 progress=False)
    out.mkdir(parents=True, exist_ok=True)
    res.to_netcdf(out / "shifts.nc")
    (out / "shifts.md").write_text(shifts_markdown(res) + "\n")
    print(shifts_markdown(res))


if __name__ == "__main__":  # pragma: no cover
    _main(sys.argv[1:])

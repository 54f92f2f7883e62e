"""Markdown tables of our results beside the paper's (Tables 1–4), and of the robustness
protocol (:func:`robustness_markdown`). Tables 3/4 state how each step was selected
(on validation for results with a ``"selection"`` field; older ones chose on test).

Reads the JSON written by :mod:`hsaug.experiments` (``{"target", "kind", "rows", ...}``)
and returns a markdown string; nothing here trains or computes metrics.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .paper import TABLES

__all__ = ["markdown", "markdown_file", "robustness_markdown", "sweep_markdown", "LABELS"]

LABELS = {
    "baseline": "Baseline (no contrastive)",
    "ridge": "Ridge regression",
    "pls": "PLS regression",
    "shift": "Shift",
    "flip": "Flip",
    "scattering": "Scattering",
    "atmospheric": "Atmospheric",
    "elastic": "Elastic",
    "band_erasure": "Band erasure",
    "band_permutation": "Band permutation",
    "nearest_neighbor": "Nearest neighbour",
}


def _label(names: list[str] | str) -> str:
    if isinstance(names, str):
        names = names.split("+")
    return " + ".join(LABELS.get(n, n) for n in names)


def _pm(mean: float | None, std: float | None, digits: int | None = None) -> str:
    if mean is None:
        return "–"
    if digits is None:  # 3 decimals below 1 (R², abundances), 2 for larger units (mg/kg)
        digits = 3 if abs(mean) < 1 else 2
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if std is not None else f"{mean:.{digits}f}"


def _comparison(result: dict, paper: dict | None) -> list[str]:
    unit = result.get("mae_unit", "")
    head = f"| Method | R² (ours) | MAE (ours{', ' + unit if unit else ''}) | runs |"
    sep = "|---|---|---|---|"
    if paper:
        head += " R² (paper) | MAE (paper) |"
        sep += "---|---|"
    lines = [head, sep]
    for row in result["rows"]:
        line = (f"| {_label(row['name'])} | {_pm(row['r2_mean'], row.get('r2_std'))} | "
                f"{_pm(row['mae_mean'], row.get('mae_std'))} | {row.get('n_runs', '')} |")
        if paper:
            p = paper["rows"].get(row["name"])
            line += (f" {_pm(p[0], p[1])} | {_pm(p[2], p[3])} |" if p else " – | – |")
        lines.append(line)
    return lines


def _greedy(result: dict, paper: dict | None) -> list[str]:
    if result.get("selection"):
        note = (f"Selection: {result['selection']}. Each step is chosen on validation; R² and ΔR² below "
                "are test R² of the chosen step.")
    else:  # results stored before hsaug chose on validation
        note = ("Selection: mean test R² (stored before hsaug chose on validation; the test part was used "
                "to choose). Re-run the protocol to choose on validation.")
    lines = [note, "", "| Step | Augmentations (ours) | R² (ours) | ΔR² (ours) |" + (" Augmentations (paper) | R² (paper) | ΔR² (paper) |" if paper else ""),
             "|---|---|---|---|" + ("---|---|---|" if paper else "")]
    prows = paper["rows"] if paper else []
    for i in range(max(len(result["rows"]), len(prows))):
        ours = result["rows"][i] if i < len(result["rows"]) else None
        cells = [str(i + 1)]
        if ours:
            delta = ours.get("delta_r2")
            cells += [_label(ours["augmentations"]), _pm(ours["r2_mean"], ours.get("r2_std"), 4),
                      "–" if delta is None else f"{delta:+.4f}"]
        else:
            cells += ["–", "–", "–"]
        if paper:
            if i < len(prows):
                names, r2, d = prows[i]
                cells += [_label(list(names)), f"{r2:.4f}", "–" if d is None else f"{d:+.4f}"]
            else:
                cells += ["–", "–", "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(result: dict) -> str:
    """Markdown: title, protocol line, and our numbers beside the paper's. A result with
    ``"sections"`` (e.g. one per synthetic preset) gives one table per section."""
    if "sections" in result:
        return "\n".join(markdown({"target": result.get("target", ""), **section})
                         for section in result["sections"])
    target = result.get("target", "")
    # the paper's title and columns only beside the data they describe (synthetic presets, the soil
    # stand-in); a user's data ("paper": False) is titled by its own name, with its own targets and units
    paper = TABLES.get(target) if result.get("paper", True) else None
    if paper:
        title = paper["title"]
        subtitle = result.get("subtitle")
    else:
        kind = {"comparison": "Regression results", "greedy": "Combination study"}.get(result.get("kind"), "Results")
        title = f"{kind} on {result['title']}" if result.get("title") else target
        subtitle = None
    lines = [f"### {target}: {title}" + (f" ({subtitle})" if subtitle else ""), ""]
    info = result.get("dataset") if not paper else None
    if isinstance(info, dict) and info.get("targets"):
        lines += [f"Targets: {info['targets']}" + (f" [{info['units']}]" if info.get("units") else "")
                  + (f"; spectra: {info['quantity']}" if info.get("quantity") else ""), ""]
    protocol = result.get("protocol")
    if protocol:
        shown = {k: (len(v) if k == "outputs" else v) for k, v in protocol.items()}
        lines += ["Protocol: " + ", ".join(f"{k}={v}" for k, v in shown.items()), ""]
    for note in result.get("notes", []):
        lines += [f"Note: {note}", ""]
    kind = result.get("kind")
    if kind == "comparison":
        lines += _comparison(result, paper)
    elif kind == "greedy":
        lines += _greedy(result, paper)
    else:
        raise ValueError(f"result kind must be 'comparison' or 'greedy'; got {kind!r}")
    return "\n".join(lines) + "\n"


def markdown_file(json_path: str | Path, md_path: str | Path | None = None) -> Path:
    """Write the markdown for a result JSON beside it (``.md``); returns its path."""
    json_path = Path(json_path)
    md_path = json_path.with_suffix(".md") if md_path is None else Path(md_path)
    md_path.write_text(markdown(json.loads(json_path.read_text())))
    return md_path


def _ci(mean: float, half: float) -> str:
    return f"{mean:.3f}" if math.isnan(half) or half == 0 else f"{mean:.3f} ± {half:.3f}"


def robustness_markdown(result, reference: str = "mlp") -> str:
    """Markdown for a :func:`hsaug.experiments.robustness` Dataset: R² (mean ± 95 % interval
    over seeds) on the clean test set per training-set size, R² under each nuisance per
    strength (largest training set), and each method's paired R² difference from
    ``reference`` (bold where the 95 % interval excludes 0)."""
    from .stats import robustness_effects, robustness_summary
    from .nuisances import get as get_nuisance

    table = robustness_summary(result)
    protocol = json.loads(result.attrs.get("protocol", "{}"))
    sizes = [int(v) for v in result["train_size"].values]
    largest = sizes[-1]
    methods = [str(m) for m in result["method"].values]
    title = "### Robustness" + (f" ({result.attrs['dataset']})" if "dataset" in result.attrs else "")
    lines = [title, ""]
    shown = {k: protocol[k] for k in ("epochs", "batch_size", "lr", "n_test") if k in protocol}
    lines += ["Protocol: " + ", ".join(f"{k}={v}" for k, v in shown.items())
              + f", seeds={result.sizes['seed']}, training sizes={sizes}"
              + (f", augmentation={result.attrs['augmentation']}" if "augmentation" in result.attrs else ""), ""]
    for name, reason in json.loads(result.attrs.get("skipped", "{}")).items():
        lines += [f"Skipped {name}: {reason}", ""]
    for note in json.loads(result.attrs.get("notes", "[]")):
        lines += [f"Note: {note}", ""]

    def grid(rows, columns, cell) -> list[str]:
        out = ["| Method | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
        out += ["| " + m + " | " + " | ".join(cell(m, c) for c in range(len(columns))) + " |" for m in rows]
        return out

    by_cell = table.set_index(["method", "train_size", "nuisance", "strength"])

    def score(m: str, size: int, nuisance: str, strength: float) -> str:
        row = by_cell.loc[(m, size, nuisance, strength)]
        return _ci(row.r2_mean, row.r2_ci)

    lines += ["#### R² on the clean test set, by training-set size", ""]
    lines += grid(methods, [str(s) for s in sizes], lambda m, k: score(m, sizes[k], "clean", 0.0)) + [""]
    nuisances = list(dict.fromkeys(str(n) for n in result["nuisance"].values if n != "clean"))
    sweeps = {n: [float(v) for v, name in zip(result["strength"].values, result["nuisance"].values) if name == n]
              for n in nuisances}
    for n, strengths in sweeps.items():
        nz = get_nuisance(n)
        lines += [f"#### R² under {n}: {nz.label}" + (f" [{nz.unit}]" if nz.unit else "")
                  + f", {largest} training spectra", ""]
        lines += grid(methods, [f"{v:g}" for v in strengths], lambda m, k: score(m, largest, n, strengths[k]))
        lines += [""]
    if reference in methods:
        columns = ["clean"] + [f"{n} {max(sweeps[n]):g}" for n in nuisances]
        cells = [("clean", 0.0)] + [(n, max(sweeps[n])) for n in nuisances]
        effects = {m: robustness_effects(result, m, reference).set_index(["train_size", "nuisance", "strength"])
                   for m in methods if m != reference}

        def effect(m: str, k: int) -> str:
            row = effects[m].loc[(largest, *cells[k])]
            text = f"{row.delta_r2:+.3f}" + (f" ± {row.ci:.3f}" if row.ci == row.ci else "")
            return f"**{text}**" if row.significant else text

        lines += [f"#### R² minus {reference}'s, same seeds (± 95 % interval; bold: the interval excludes 0), "
                  f"{largest} training spectra, each nuisance at its strongest", ""]
        lines += grid([m for m in methods if m != reference], columns, effect) + [""]
    return "\n".join(lines)


def sweep_markdown(sweeps: Any) -> str:
    """One markdown table per :func:`hsaug.experiments.sweep` Dataset (an iterable of them):
    test R² mean ± std over seeds, α down, r across (α = 0: no contrastive term)."""
    lines = []
    for res in sweeps:
        title = res.attrs.get("dataset", "")
        lines += [f"### Test R² over α × r, {res.attrs['augmentation']}, {title} "
                  f"({res.sizes['seed']} seeds, {res.attrs.get('epochs', '?')} epochs; α = 0: no contrastive term)", "",
                  "| α \\ r | " + " | ".join(f"{r:g}" for r in res["r"].values) + " |",
                  "|---|" + "---|" * res.sizes["r"]]
        for i, a in enumerate(res["alpha"].values):
            lines.append(f"| {a:g} | " + " | ".join(f"{res['r2_mean'].values[i, j]:.3f} ± {res['r2_std'].values[i, j]:.3f}"
                                                   for j in range(res.sizes["r"])) + " |")
        lines.append("")
    return "\n".join(lines)

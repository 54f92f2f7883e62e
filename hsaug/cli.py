"""``hsaug`` command line: re-run the paper's experiments as papermill-executed notebooks.

    hsaug reproduce TARGET [--quick] [--seeds N] [--epochs N] [--device D] [--data PATH] [--preset P] [--out DIR]

TARGET is one of table1, table3, fig3, table2, table4, sweep, robustness, or all (the
paper's five; sweep and robustness, beyond the paper, run only when named). Each target
executes its notebook (kernel ``python3``, widget state not stored) into ``DIR/notebooks``;
the notebook writes ``DIR/TARGET.json``, from which ``DIR/TARGET.md`` puts our numbers
beside the paper's (sweep and robustness write NetCDF and ``DIR/TARGET.md``). A failing
cell ends the command with exit status 1, naming the notebook, the cell and its error.
Finished runs are stored under ``DIR/runs`` as they finish; Ctrl-C stops with one line saying
so, and the same command resumes (it reports how many stored runs it found and reused).
``limesoda`` (no notebook) runs :func:`hsaug.experiments.limesoda.limesoda_table` — ten real
soil sets × three targets on LimeSoDa's folds, beside the published R² — into
``DIR/limesoda.json`` and ``DIR/limesoda.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import augment

__all__ = ["main", "TARGETS", "notebooks_dir", "reproduce", "output_folder", "stored_runs"]

# target -> (notebook file, extra parameters)
TARGETS: dict[str, tuple[str, dict]] = {
    "table1": ("04-reproduce-tables.ipynb", {"target": "table1"}),
    "table3": ("04-reproduce-tables.ipynb", {"target": "table3"}),
    "fig3": ("05-error-distribution.ipynb", {"target": "fig3"}),
    "table2": ("06-real-data.ipynb", {"target": "table2"}),
    "table4": ("06-real-data.ipynb", {"target": "table4"}),
    "robustness": ("07-robustness.ipynb", {}),
    "sweep": ("04-reproduce-tables.ipynb", {"target": "sweep"}),
}
#: what ``all`` runs: the paper's targets
PAPER_TARGETS = ("table1", "table3", "fig3", "table2", "table4")


def notebooks_dir() -> Path:
    """The repository's ``notebooks/`` folder (hsaug is installed from a checkout)."""
    folder = Path(__file__).resolve().parents[1] / "notebooks"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"notebooks folder not found at {folder}; install hsaug from a checkout with `pip install -e .`"
        )
    return folder


def reproduce(target: str, *, quick: bool = False, seeds: int | None = None, epochs: int | None = None,
              device: str = "cpu", data: str | None = None, out: str | Path = "results",
              progress: bool = True, preset: str | None = None) -> list[Path]:
    """Execute the notebook(s) of ``target``; return the markdown files written."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from .report import markdown_file

    from .reproduction import train_settings

    if target != "all" and target not in TARGETS:
        raise ValueError(f"target must be one of {[*TARGETS, 'all']}; got {target!r}")
    targets = list(PAPER_TARGETS) if target == "all" else [target]
    for name in targets:  # the settings each notebook will build: bad values fail here, before any notebook
        train_settings(name, quick, seeds=seeds, epochs=epochs, device=device)
    out = output_folder(out)
    written = []
    for name in targets:
        notebook, extra = TARGETS[name]
        source = notebooks_dir() / notebook
        if not source.exists():
            raise FileNotFoundError(f"{name}: notebook {source} is missing")
        params = {"quick": quick, "device": device, "output_dir": str(out), "interactive": False, **extra}
        if seeds is not None:
            params["seeds"] = seeds
        if epochs is not None:
            params["epochs"] = epochs
        if data is not None:
            params["data"] = str(Path(data).resolve())
        if preset is not None:
            if name not in ("table1", "table3", "sweep", "robustness"):
                raise ValueError(f"--preset applies to table1, table3, sweep and robustness, not {name}")
            if name == "robustness":
                params["preset"] = preset
            else:
                params["presets"] = [preset]
        executed = out / "notebooks" / f"{source.stem}.{name}.ipynb"
        stored = stored_runs(out)
        print(f"hsaug reproduce {name}: running {notebook} -> {executed}"
              + (f" ({stored} stored runs under {out / 'runs'} are reused where they match)" if stored else ""),
              flush=True)
        start = time.perf_counter()
        try:
            pm.execute_notebook(str(source), str(executed), parameters=params, kernel_name="python3",
                                progress_bar=progress, cwd=str(out), store_widget_state=False)
        except PapermillExecutionError as err:
            raise ReproduceError(
                f"{name}: notebook {notebook} failed in cell {err.cell_index} "
                f"(execution count {err.exec_count}): {err.ename}: {err.evalue}\n"
                f"the executed copy with the traceback is at {executed}"
            ) from None
        result_json = out / f"{name}.json"
        if name in ("robustness", "sweep"):
            if not (out / f"{name}.md").exists():
                raise ReproduceError(f"{name}: notebook {notebook} finished but wrote no {out / f'{name}.md'}")
            written.append(out / f"{name}.md")
        if name.startswith("table"):
            if not result_json.exists():
                raise ReproduceError(f"{name}: notebook {notebook} finished but wrote no {result_json}")
            written.append(markdown_file(result_json))
        trained = stored_runs(out) - stored
        print(f"hsaug reproduce {name}: done in {time.perf_counter() - start:.0f} s; {trained} run(s) trained"
              + (f", {stored} stored run(s) available for reuse" if stored else ""), flush=True)
    return written


class ReproduceError(RuntimeError):
    """A notebook failed or wrote no result."""


def output_folder(out: str | Path) -> Path:
    """``out`` resolved and created with its ``notebooks/`` folder; ValueError (one line) when
    it names a file or cannot be created."""
    path = Path(out).resolve()
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder (it is created if missing)")
    try:
        (path / "notebooks").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--out {out} cannot be used as the output folder: {err.strerror or err}") from None
    return path


def stored_runs(out: Path) -> int:
    """How many finished runs are stored under ``out/runs`` (one JSON file each)."""
    runs = Path(out) / "runs"
    return sum(1 for _ in runs.rglob("*.json")) if runs.is_dir() else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hsaug", description="Spectral augmentations and contrastive regression.")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="re-run the paper's tables and figures through papermill")
    rep.add_argument("target", choices=[*TARGETS, "all", "limesoda"])
    rep.add_argument("--quick", action="store_true", help="small scene, few epochs and seeds (minutes on a CPU)")
    rep.add_argument("--seeds", type=int, help="number of seeds per configuration")
    rep.add_argument("--epochs", type=int, help="training epochs")
    rep.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    rep.add_argument("--data", help="a dataset file (.nc, .csv, ENVI .hdr, .mat) instead of the bundled data")
    rep.add_argument("--preset", choices=["paper", "hard", "hard-v1"],
                     help="synthetic preset for table1, table3, sweep and robustness (default: both / paper)")
    rep.add_argument("--out", default="results", help="output folder (default: results)")
    info = sub.add_parser("augmentations", help="list augmentations and their parameters")
    info.add_argument("name", nargs="?", help="one augmentation")
    return parser


def _list_augmentations(name: str | None) -> None:
    """Each augmentation's parameters with their limits and the draws of every range set."""
    sets = augment.range_sets()
    for n in [name] if name else augment.names():
        augs = {r: augment.get(n, ranges=r) for r in sets}
        aug = augs[sets[0]]
        print(f"{n}: {(type(aug).__doc__ or '').strip().splitlines()[0]}")
        names = list(dict.fromkeys(p.name for a in augs.values() for p in a.params))
        for pname in names:
            p = next(a.spec(pname) for a in augs.values() if any(q.name == pname for q in a.params))
            draws = "; ".join(
                f"{r} {_range_text(a.ranges[pname])}" for r, a in augs.items() if pname in a.ranges
            )
            print(f"    {p.display:<14} [{p.low:g}, {p.high:g}] neutral {p.default:g}; draws {draws}  {p.doc}")
        for o in aug.options:
            values = "; ".join(f"{r} {a.option_values[o.name]!r}" for r, a in augs.items())
            print(f"    option {o.name} = {values} of {list(o.choices)}  {o.doc}")


def _range_text(r: tuple[float, float]) -> str:
    return f"{r[0]:.4g}" if r[0] == r[1] else f"({r[0]:.4g}, {r[1]:.4g})"


def _limesoda(args: argparse.Namespace) -> Path:
    """``hsaug reproduce limesoda``: the LimeSoDa table (:mod:`hsaug.experiments.limesoda`) beside the
    published numbers; ``--quick``: two small sets, few epochs. Writes ``limesoda.json`` and ``.md``."""
    import json

    from .experiments.limesoda import limesoda_table, published, to_markdown

    out = output_folder(args.out)
    sets = ["MG.44", "SSP.58"] if args.quick else None
    epochs = args.epochs or (8 if args.quick else 200)
    result = limesoda_table(sets, epochs=epochs, pretrain_epochs=4 if args.quick else 100, device=args.device)
    (out / "limesoda.json").write_text(json.dumps(result, indent=1))
    md = out / "limesoda.md"
    md.write_text("### LimeSoDa: R² over pooled out-of-fold predictions, LimeSoDa's folds\n\n"
                  + to_markdown(result, published()) + "\n")
    return md


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "augmentations":
            _list_augmentations(args.name)
            return 0
        if args.seeds is not None and args.seeds < 1:
            raise ValueError(f"--seeds must be >= 1; got {args.seeds}")
        if args.epochs is not None and args.epochs < 1:
            raise ValueError(f"--epochs must be >= 1; got {args.epochs}")
        if args.data is not None and not Path(args.data).exists():
            raise ValueError(f"--data file {args.data} does not exist")
        if args.target == "limesoda":
            print(_limesoda(args).read_text())
            return 0
        for md in reproduce(args.target, quick=args.quick, seeds=args.seeds, epochs=args.epochs,
                            device=args.device, data=args.data, out=args.out, preset=args.preset):
            print(md.read_text())
    except (ReproduceError, ValueError, FileNotFoundError) as err:
        print(f"hsaug: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        out = Path(getattr(args, "out", "results"))
        n = stored_runs(out.resolve()) if out.is_dir() else 0
        print(f"hsaug: interrupted; {n} finished run(s) are stored under {out / 'runs'}; run the same command "
              "again to resume (stored runs are reused)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

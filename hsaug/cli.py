"""``hsaug`` command line: re-run the paper's experiments as papermill-executed notebooks.

    hsaug reproduce TARGET [--quick] [--seeds N] [--epochs N] [--device D] [--data PATH [reader options]]
                    [--preset P] [--out DIR] [--scheduler ADDRESS [--timeout S]]

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

    hsaug train DATA --target … [--quantity …] [--id-column …] [--wavelength-file …] [--targets FILE]
                [--augment shift+atmospheric] [--alpha …] [--preprocess …] [--constraint …]
                [--epochs N] [--patience N|auto|none] --out MODEL
    hsaug predict MODEL SCENE --out MAP [--chunks N] [--scheduler ADDRESS] [--overwrite]

``train`` reads a user's labelled file, trains and saves one model file (docs/models.md);
``predict`` maps a scene with it, chunk by chunk, optionally on a dask.distributed cluster.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

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
              progress: bool = True, preset: str | None = None, reader: dict[str, Any] | None = None,
              scheduler: str | None = None, timeout: float | None = None) -> list[Path]:
    """Execute the notebook(s) of ``target``; return the markdown files written. ``reader``: keyword
    arguments of :func:`hsaug.readers.read_dataset` for ``data`` (JSON-able). ``scheduler``: a
    dask.distributed scheduler address; the runs' member groups train there (it must answer within
    ``timeout`` seconds, checked here before any notebook)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from .report import markdown_file

    from .reproduction import train_settings

    if target != "all" and target not in TARGETS:
        raise ValueError(f"target must be one of {[*TARGETS, 'all']}; got {target!r}")
    targets = list(PAPER_TARGETS) if target == "all" else [target]
    for name in targets:  # the settings each notebook will build: bad values fail here, before any notebook
        train_settings(name, quick, seeds=seeds, epochs=epochs, device=device)
    if reader and data is None:
        raise ValueError(f"reader options {sorted(reader)} describe a data file; got no data")
    if scheduler is not None:  # an address that does not answer fails here, not in every notebook
        from .experiments.runner import check_scheduler

        check_scheduler(scheduler, timeout)
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
        if reader:
            params["reader"] = dict(reader)
        if scheduler is not None:
            params["scheduler"] = scheduler
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
    rep.add_argument("--data", help="a dataset file (.nc, .csv, ENVI .hdr, .mat) instead of the bundled data; the "
                                    "options below describe it as for `hsaug train`")
    add_reader_options(rep)
    rep.add_argument("--preset", choices=["paper", "hard", "hard-v1"],
                     help="synthetic preset for table1, table3, sweep and robustness (default: both / paper)")
    rep.add_argument("--out", default="results", help="output folder (default: results)")
    rep.add_argument("--scheduler", default=None, help="a dask.distributed scheduler address, e.g. tcp://host:8786: "
                                                       "the member groups train there as tasks, writing to the store")
    rep.add_argument("--timeout", type=float, default=None, help="seconds to wait for --scheduler (default 10)")
    _model_parsers(sub)
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
        if args.command == "train":
            return train_command(args)
        if args.command == "predict":
            return predict_command(args)
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
        reader = _reader_options(args, Path(args.data)) if args.data is not None else {}
        if args.data is None and _reader_flags(args):
            raise ValueError(f"{', '.join(_reader_flags(args))} describe a --data file; give --data")
        if "wavelength" in reader:  # a notebook parameter: plain numbers
            reader["wavelength"] = [float(v) for v in reader["wavelength"]]
        if "targets" in reader:  # the notebook runs in --out
            reader["targets"] = str(Path(reader["targets"]).resolve())
        for md in reproduce(args.target, quick=args.quick, seeds=args.seeds, epochs=args.epochs,
                            device=args.device, data=args.data, out=args.out, preset=args.preset,
                            reader=reader or None, scheduler=args.scheduler, timeout=args.timeout):
            print(md.read_text())
    except (ReproduceError, ValueError, FileNotFoundError, FileExistsError, ConnectionError) as err:
        print(f"hsaug: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        out = Path(getattr(args, "out", "results"))
        n = stored_runs(out.resolve()) if out.is_dir() else 0
        print(f"hsaug: interrupted; {n} finished run(s) are stored under {out / 'runs'}; run the same command "
              "again to resume (stored runs are reused)", file=sys.stderr)
        return 130
    return 0


# -- hsaug train / hsaug predict ----------------------------------------------------------------------
def _model_parsers(sub: Any) -> None:
    """The `train` and `predict` subcommands (a user's file → a model → a map)."""
    tr = sub.add_parser("train", help="train a model on your labelled spectra and save it (one .safetensors file)",
                        description="Train the paper's MLP (optionally contrastive, with augmentations) on a labelled "
                                    "file and save the model. DATA: .nc, .csv, ENVI .hdr (with --targets), .mat.")
    tr.add_argument("data", help="labelled spectra: .nc, .csv, ENVI .hdr (per-pixel targets via --targets), .mat")
    tr.add_argument("--out", required=True, help="the model file to write (.safetensors)")
    add_reader_options(tr)
    tr.add_argument("--augment", default=None, help="augmentation(s), e.g. shift or shift+atmospheric "
                                                    "(default: none, the plain MLP)")
    tr.add_argument("--alpha", type=float, default=None, help="contrastive weight α (default 0.001 with --augment)")
    tr.add_argument("--preprocess", default=None, help="input transform fitted on the training rows: standardize "
                                                       "(default), none, snv, savgol(...), or a chain a+b")
    tr.add_argument("--constraint", choices=["none", "nonneg", "sum_to_one"], default=None,
                    help="output constraint (abundances: sum_to_one)")
    tr.add_argument("--epochs", type=int, default=None, help="training epochs at most (default 100)")
    tr.add_argument("--patience", type=_patience, default=None,
                    help="early stopping on the validation loss, keeping the best epoch's weights: epochs without "
                         "improvement before stopping (default auto: 10 %% of --epochs, at least 5); none: every "
                         "epoch, the last one's weights")
    tr.add_argument("--seeds", type=int, default=1, help="models in the ensemble, seeds 0 … n−1 (default 1)")
    tr.add_argument("--device", default="cpu", help="torch device: cpu, cuda, auto")
    tr.add_argument("--threads", type=int, default=None, help="torch CPU threads while training")
    tr.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    pr = sub.add_parser("predict", help="predict a map (or a table) from a saved model",
                        description="Apply a saved model to a scene (ENVI .hdr, .nc, .zarr with (y, x, wavelength)) "
                                    "chunk by chunk, or to a table of spectra (.nc/.csv with samples).")
    pr.add_argument("model", help="a model file written by `hsaug train` / Model.save")
    pr.add_argument("scene", help="ENVI .hdr, NetCDF .nc or zarr .zarr scene (y, x, wavelength); or spectra "
                                  "(sample, wavelength) in .nc/.csv")
    pr.add_argument("--out", required=True, help="the map to write: .nc, .zarr, .tif (GeoTIFF; needs a CRS)")
    pr.add_argument("--chunks", type=int, default=None, help="pixels per chunk side (default: whole rows, ≈ 64 MiB)")
    pr.add_argument("--scheduler", default=None, help="a dask.distributed scheduler address, e.g. tcp://host:8786")
    pr.add_argument("--timeout", type=float, default=None, help="seconds to wait for --scheduler (default 10)")
    pr.add_argument("--members", action="store_true", help="write each ensemble member, not only the mean")
    pr.add_argument("--id-column", help="a CSV table of spectra: its column of sample ids")
    pr.add_argument("--bands", choices=["error", "sort", "average"], default="error",
                    help="ENVI scenes with an unsorted/overlapping band list: refuse (default), sort, average")
    pr.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def add_reader_options(parser: argparse.ArgumentParser) -> None:
    """The options that describe a user's file to :func:`hsaug.readers.read_dataset` (``hsaug train DATA`` and
    ``hsaug reproduce --data``); :func:`_reader_options` turns them into the reader's keyword arguments."""
    parser.add_argument("--target", nargs="+", dest="target_column", metavar="TARGET",
                        help="target column(s) / band name(s) to learn (default: all the file has)")
    parser.add_argument("--targets", help="ENVI images: the per-pixel targets (a CSV with row, col, targets; an ENVI "
                                          "image; .npy)")
    parser.add_argument("--quantity", help="what the spectra are: reflectance, absorbance, … (overrides the file)")
    parser.add_argument("--reflectance-scale", type=float, help="reflectance that is stored × this (100: percent, "
                                                                   "10000: scaled integers)")
    parser.add_argument("--id-column", help="CSV: a column of sample ids (not a band, not a target)")
    parser.add_argument("--wavelength-file", help="a text file of wavelengths [nm], one per band, for files "
                                                  "without them")
    parser.add_argument("--bands", choices=["error", "sort", "average"],
                        help="overlapping/unsorted band lists: refuse (default), sort, or average duplicates")


def _reader_flags(args: Any) -> list[str]:
    """The reader flags given on the command line."""
    flags = {"target_column": "--target", "targets": "--targets", "quantity": "--quantity",
             "reflectance_scale": "--reflectance-scale", "id_column": "--id-column",
             "wavelength_file": "--wavelength-file", "bands": "--bands"}
    return [flag for key, flag in flags.items() if getattr(args, key, None) is not None]


def _reader_options(args: Any, path: Path) -> dict[str, Any]:
    """Reader keyword arguments from the flags of :func:`add_reader_options`, refused by name where the file's
    reader has no such option."""
    import inspect

    import numpy as np

    from . import readers

    reader = readers.reader_for(path)
    kind = readers.SUFFIXES[path.suffix.lower()]
    accepted = set(inspect.signature(reader).parameters)
    given: dict[str, tuple[str, Any]] = {}
    if args.target_column:
        given["target"] = ("--target", args.target_column if len(args.target_column) > 1 else args.target_column[0])
    if args.targets:
        given["targets"] = ("--targets", args.targets)
    if args.quantity:
        given["quantity"] = ("--quantity", args.quantity)
    if args.reflectance_scale is not None:
        given["reflectance_scale"] = ("--reflectance-scale", args.reflectance_scale)
    if args.id_column:
        given["id_column"] = ("--id-column", args.id_column)
    if args.bands:
        given["bands"] = ("--bands", args.bands)
    if args.wavelength_file:
        wf = Path(args.wavelength_file)
        if not wf.is_file():
            raise ValueError(f"--wavelength-file {wf} does not exist")
        try:
            wl = np.loadtxt(wf, delimiter=None if wf.suffix.lower() != ".csv" else ",", ndmin=1, dtype=float)
        except ValueError as err:
            raise ValueError(f"--wavelength-file {wf}: one number [nm] per band expected ({err})") from None
        given["wavelength"] = ("--wavelength-file", wl.reshape(-1))
    out = {}
    for key, (flag, value) in given.items():
        if key not in accepted:
            raise ValueError(f"{flag} does not apply to {kind} files ({path.name}); the {kind} reader accepts "
                             f"{sorted(k for k in accepted if k not in ('path', 'image'))}")
        out[key] = value
    return out


def _patience(text: str) -> int | str:
    """--patience: a positive integer, 'auto' or 'none'."""
    if text.lower() in ("auto", "none"):
        return text.lower()
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a positive number of epochs, 'auto' or 'none'; got {text!r}")
    return value


def train_command(args: Any) -> int:
    """`hsaug train`: read DATA, fit, save the model; print the test metrics and the conversions made."""
    from .config import Config
    from .readers import read_dataset
    from .training import fit

    data, out = Path(args.data), Path(args.out)
    if not data.exists():
        raise ValueError(f"DATA {data} does not exist")
    if out.exists() and not args.overwrite:
        raise ValueError(f"--out {out} exists; pass --overwrite to replace it")
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1; got {args.seeds}")
    ds = read_dataset(data, **_reader_options(args, data))
    if "target" not in ds:
        raise ValueError(f"DATA {data} holds no targets; give --target (CSV/NetCDF columns) or --targets (ENVI)")
    if args.augment is None and args.alpha not in (None, 0):
        raise ValueError("--alpha needs --augment (the views the contrastive term compares)")
    config = Config.baseline() if args.augment is None else \
        Config(augmentation=args.augment, **({} if args.alpha is None else {"alpha": args.alpha}))
    settings: dict[str, Any] = {"seeds": list(range(args.seeds)), "device": args.device}
    for key in ("epochs", "threads", "preprocess", "constraint", "patience"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    if settings.get("patience") == "none":  # the fixed schedule: every epoch, the last one's weights
        settings["patience"] = None
    result = fit(ds, configs=[config], progress=sys.stderr.isatty(), **settings)
    model = result.to_model()
    model.save(out)
    r2 = result.metrics["test_r2"]
    print(f"hsaug train: {config.label}, {args.seeds} seed(s), preprocess {model.preprocess.spec!r}, "
          f"constraint {model.constraint!r}: test R² {float(r2.mean()):.4f} (per seed {', '.join(f'{v:.4f}' for v in r2)})")
    if result.settings.get("patience") is not None:
        print(f"hsaug train: early stopping with patience {result.settings['patience']} (validation loss): best "
              f"epoch(s) {', '.join(str(int(e)) for e in result.best_epoch)} of at most {result.settings['epochs']}, "
              "whose weights are kept")
    for line in result.conversions or ["no conversion of the spectra"]:
        print(f"hsaug train: {line}")
    print(f"hsaug train: wrote {out} ({model.n_members} member(s), outputs {model.outputs})")
    return 0


def _spectra_table(path: Path, id_column: str | None = None, bands: str = "error") -> Any:
    """Spectra (sample, wavelength) from a CSV or a NetCDF holding them; None for a scene (y, x, wavelength)."""
    import xarray as xr

    if path.suffix.lower() == ".csv":
        from .readers import read_csv

        try:
            return read_csv(path, id_column=id_column, bands=bands)["spectra"]
        except ValueError as err:
            if "no target column" not in str(err):
                raise
            raise ValueError(f"SCENE {path}: hsaug.readers.read_csv reads labelled tables only (one target column "
                             "at least; its values are ignored here); add one, or write the spectra as NetCDF "
                             "(sample, wavelength)") from None
    if path.suffix.lower() in (".nc", ".nc4"):
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            is_table = "spectra" in ds and "sample" in ds["spectra"].dims
        if is_table:
            from .readers import read_netcdf

            return read_netcdf(path, bands=bands)["spectra"]
    return None


def predict_command(args: Any) -> int:
    """`hsaug predict`: a map of SCENE from MODEL, written chunk by chunk."""
    from .maps import SCHEDULER_TIMEOUT_S, open_scene, predict_map, write_map
    from .predictor import load_model

    model = load_model(args.model)
    scene, out = Path(args.scene), Path(args.out)
    if not scene.exists():
        raise ValueError(f"SCENE {scene} does not exist")
    if out.exists() and not args.overwrite:
        raise ValueError(f"--out {out} exists; pass --overwrite to replace it")
    if args.chunks is not None and args.chunks < 1:
        raise ValueError(f"--chunks must be >= 1 pixels per side; got {args.chunks}")
    timeout = SCHEDULER_TIMEOUT_S if args.timeout is None else args.timeout
    table = _spectra_table(scene, args.id_column, args.bands)
    if table is not None:  # spectra (sample, wavelength): a table of predictions
        pred = model.predict(table, members=args.members)
        if out.suffix.lower() == ".csv":
            frame = pred.to_pandas() if not args.members else pred.to_dataframe()
            if not args.members and "sample_id" in pred.coords:  # the ids of --id-column
                frame.index = pred["sample_id"].values
                frame.index.name = "sample_id"
            frame.to_csv(out)
        else:
            write_map(pred, out, overwrite=args.overwrite)
        print(f"hsaug predict: {pred.sizes['sample']} spectra → {out} (outputs {model.outputs})")
        return 0
    cube = open_scene(scene, chunks="auto" if args.chunks is None else args.chunks, bands=args.bands)
    pred = predict_map(model, cube, out=out, overwrite=args.overwrite,
                       scheduler=args.scheduler, timeout=timeout, members=args.members)
    print(f"hsaug predict: {dict(pred.sizes)} map of {model.outputs} → {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

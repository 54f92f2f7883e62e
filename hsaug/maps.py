"""Maps of whole scenes: a :class:`hsaug.predictor.Model` applied to a ``(y, x, wavelength)`` cube.

:func:`predict_map` runs in memory for an in-memory cube and chunk by chunk for a dask-backed
one (``chunks=``, or a file opened by :func:`open_scene`): each chunk of pixels holds every band
(the wavelength axis is one chunk), runs through the model as one batched torch call
(``xarray.apply_ufunc(..., dask="parallelized")``) and becomes a chunk of the
``(y, x, output)`` map, so a scene larger than memory streams through. With ``out=`` the map
is written (NetCDF ``.nc``, zarr ``.zarr``, GeoTIFF ``.tif`` when the scene carries a CRS)
without holding it in memory; an existing output is kept unless ``overwrite=True``. With
``scheduler=`` (a ``dask.distributed.Client`` or a scheduler address) the chunks run on that
cluster. :func:`map_figure` draws the map (plotly), beside ground truth and error when given.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr

from .cluster import SCHEDULER_TIMEOUT_S, connect
from .predictor import Model, load_model
from .spectra import describe

__all__ = ["predict_map", "open_scene", "write_scene", "example_files", "write_map", "map_figure", "CHUNK_BYTES",
           "SCHEDULER_TIMEOUT_S"]

#: default chunk size of a scene opened from a file: about this many bytes of spectra per chunk
CHUNK_BYTES = 64 * 2 ** 20
_FORMATS = {".nc": "netcdf", ".nc4": "netcdf", ".netcdf": "netcdf", ".zarr": "zarr", ".tif": "geotiff",
            ".tiff": "geotiff"}


# -- opening scenes -----------------------------------------------------------------------------------
def _default_chunks(shape: Sequence[int], itemsize: int = 4) -> dict[str, int]:
    rows, cols, bands = shape
    per_row = max(1, cols * bands * itemsize)
    return {"y": int(max(1, min(rows, CHUNK_BYTES // per_row))), "x": int(cols)}


def _chunk_arg(chunks: Any, shape: Sequence[int]) -> dict[str, int]:
    if chunks is None or chunks == "auto":
        return _default_chunks(shape)
    if isinstance(chunks, (int, np.integer)) and not isinstance(chunks, bool) and chunks > 0:
        return {"y": int(chunks), "x": int(chunks)}
    if isinstance(chunks, Mapping) and set(chunks) <= {"y", "x", "wavelength"}:
        out = {k: int(v) for k, v in chunks.items() if k != "wavelength"}
        if all(v > 0 or v == -1 for v in out.values()):
            return out
    if isinstance(chunks, (tuple, list)) and len(chunks) == 2 and all(isinstance(v, int) and v > 0 for v in chunks):
        return {"y": int(chunks[0]), "x": int(chunks[1])}
    raise ValueError(f"chunks must be pixels per side (int), (rows, cols), {{'y': rows, 'x': cols}} or 'auto'; "
                     f"got {chunks!r}")


def _open_envi_scene(path: Path, chunks: Any, bands: str = "error") -> xr.DataArray:
    """A lazy (y, x, wavelength) cube from an ENVI image through the readers' one door
    (:func:`hsaug.readers.read_envi` with ``chunks``: its header rules, and a graph that holds the
    file's path, not an open file, so it goes to a process-based cluster)."""
    from .readers import read_envi
    from .readers.envi import envi_paths

    hdr, _ = envi_paths(path)
    from spectral.io import envi

    try:  # the shape, for chunks of whole rows of about CHUNK_BYTES
        meta = envi.read_envi_header(str(hdr))
        shape = (int(meta["lines"]), int(meta["samples"]), int(meta["bands"]))
    except Exception as err:  # spectral raises its own exception types
        raise ValueError(f"scene {hdr}: cannot be read as an ENVI header ({type(err).__name__}: {err})") from None
    ch = _chunk_arg(chunks, shape)
    cube = read_envi(hdr, chunks=(ch.get("y", shape[0]), ch.get("x", shape[1])), bands=bands)
    if isinstance(cube, xr.Dataset):  # pragma: no cover - read_envi without targets gives the cube
        cube = cube["spectra"]
    return cube.astype(np.float32)


def open_scene(path: str | Path, *, chunks: Any = "auto", variable: str = "spectra", bands: str = "error"
               ) -> xr.DataArray:
    """A ``(y, x, wavelength)`` cube from a file, dask-backed (lazy) with ``chunks``.

    ENVI (``.hdr`` or its data file; any interleave; the readers' header rules: wavelength units
    through :func:`hsaug.spectra.to_nanometres`, ``bbl`` bands dropped, ``data ignore value`` → NaN,
    band order by ``bands=`` as :func:`hsaug.spectra.order_bands`, ``reflectance scale factor`` →
    ``quantity="reflectance"`` with that scale, values kept), NetCDF (``.nc``) or zarr (``.zarr``) holding the
    variable ``variable`` with dims ``(y, x, wavelength)``. ``chunks``: pixels per side (int),
    ``(rows, cols)``, ``{"y": …, "x": …}`` or ``"auto"`` (whole rows, ≈ 64 MiB of spectra per
    chunk); the wavelength axis is always one chunk.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".hdr", ".img", ".dat", ".raw", ".bin") or (p.with_suffix(".hdr").is_file() and suffix == ""):
        return _open_envi_scene(p, chunks, bands)
    if not p.exists():
        raise FileNotFoundError(f"scene {p} does not exist")
    if suffix == ".zarr":
        ds = xr.open_zarr(p, consolidated=False)
    elif suffix in (".nc", ".nc4", ".netcdf", ".h5"):
        ds = xr.open_dataset(p, engine="h5netcdf", chunks={})
    else:
        raise ValueError(f"scene {p}: the suffix {suffix!r} is not a scene format; accepted: ENVI (.hdr), NetCDF "
                         "(.nc), zarr (.zarr)")
    if variable not in ds:
        raise ValueError(f"scene {p} has no variable {variable!r}; it has {sorted(ds.data_vars)}")
    da = ds[variable]
    da.attrs = {**ds.attrs, **da.attrs}
    return _as_cube(da, chunks, str(p))


def write_scene(cube: xr.DataArray, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a ``(y, x, wavelength)`` cube as ENVI (``.hdr`` + ``.img``, BIP float32, wavelengths in nm,
    NaN kept, ``quantity``/``reflectance_scale`` as the header's ``reflectance scale factor`` when
    declared), NetCDF (``.nc``) or zarr (``.zarr``), for :func:`open_scene`. Returns the path to open."""
    cube = _as_cube(cube, None)
    p = Path(path)
    suffix = p.suffix.lower()
    targets = [p.with_suffix(".hdr"), p.with_suffix(".img")] if suffix in (".hdr", ".img") else [p]
    if any(t.exists() for t in targets) and not overwrite:
        raise FileExistsError(f"{p} exists; pass overwrite=True to replace it")
    p.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".hdr", ".img"):
        from spectral.io import envi

        meta = {"wavelength": [f"{w:.6f}" for w in cube["wavelength"].values], "wavelength units": "Nanometers"}
        if cube.attrs.get("quantity") == "reflectance" and cube.attrs.get("reflectance_scale") not in (None, 1, 1.0):
            meta["reflectance scale factor"] = float(cube.attrs["reflectance_scale"])
        envi.save_image(str(p.with_suffix(".hdr")), np.asarray(cube.values, dtype=np.float32), metadata=meta,
                        interleave="bip", ext=".img", force=True)
        return p.with_suffix(".hdr")
    ds = cube.to_dataset(name="spectra")
    ds.attrs = {k: v for k, v in cube.attrs.items() if isinstance(v, (str, int, float))}
    ds["spectra"].attrs = {}
    if suffix in (".nc", ".nc4"):
        _remove(p)
        ds.to_netcdf(p, engine="h5netcdf")
    elif suffix == ".zarr":
        ds.to_zarr(p, mode="w", consolidated=False)
    else:
        raise ValueError(f"path {p}: the suffix must be .hdr (ENVI), .nc or .zarr; got {suffix!r}")
    return p


def example_files(folder: str | Path, *, n_rows: int = 40, n_cols: int = 40, preset: str = "paper", seed: int = 0,
                  overwrite: bool = True) -> dict[str, Path]:
    """A synthetic scene (:func:`hsaug.synthetic.make_scene`) written as a user's files would be:
    ``labelled.nc`` (every pixel with its abundances, :func:`hsaug.readers.write_netcdf`),
    ``scene.hdr``/``scene.img`` (the unlabelled ENVI image to map) and ``truth.nc`` (the abundance
    maps, for comparison). Returns ``{"labelled", "scene", "truth"}`` paths."""
    from .readers import write_netcdf
    from .synthetic import make_scene, scene_image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ds = make_scene(preset, n_rows=n_rows, n_cols=n_cols, seed=seed)
    labelled = folder / "labelled.nc"
    if labelled.exists() and overwrite:
        labelled.unlink()
    write_netcdf(ds.drop_vars("endmembers"), labelled)
    image = scene_image(ds).assign_attrs(quantity="reflectance", reflectance_scale=1.0)
    scene = write_scene(image, folder / "scene.hdr", overwrite=overwrite)
    truth = folder / "truth.nc"
    _remove(truth)
    scene_image(ds, "target").to_netcdf(truth, engine="h5netcdf")
    return {"labelled": labelled, "scene": scene, "truth": truth}


def _as_cube(scene: Any, chunks: Any, what: str = "scene") -> xr.DataArray:
    if isinstance(scene, xr.Dataset):
        if "spectra" not in scene:
            raise ValueError(f"{what}: a Dataset must hold 'spectra'; it has {sorted(scene.data_vars)}")
        scene = scene["spectra"].assign_attrs({**scene.attrs, **scene["spectra"].attrs})
    if not isinstance(scene, xr.DataArray):
        raise ValueError(f"scene must be a (y, x, wavelength) DataArray, a Dataset with 'spectra' or a file path; "
                         f"got {describe(scene)}")
    if set(scene.dims) != {"y", "x", "wavelength"}:
        raise ValueError(f"{what} must have dims ('y', 'x', 'wavelength'); got {scene.dims}")
    scene = scene.transpose("y", "x", "wavelength")
    if chunks is not None:
        ch = _chunk_arg(chunks, [scene.sizes[d] for d in ("y", "x", "wavelength")])
        scene = scene.chunk({**ch, "wavelength": -1})
    elif scene.chunks is not None:
        scene = scene.chunk({"wavelength": -1})
    return scene


# -- schedulers ---------------------------------------------------------------------------------------
_scheduler = connect  # the one door to a cluster (hsaug.cluster)


@contextlib.contextmanager
def _torch_threads(n: int | None):
    before = torch.get_num_threads()
    if n is not None and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _compute(obj: Any, kind: str, client: Any, workers: int | None) -> Any:
    """Compute a dask-backed xarray object or delayed on the chosen scheduler."""
    import dask

    if kind == "distributed":
        with dask.config.set(scheduler=client):
            return dask.compute(obj)[0]
    kw = {"num_workers": workers} if workers and kind == "threads" else {}
    with dask.config.set(scheduler=kind, **kw), _torch_threads(1 if kind == "threads" else None):
        return dask.compute(obj)[0]


# -- writing ------------------------------------------------------------------------------------------
def _format_of(out: Path) -> str:
    fmt = _FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ValueError(f"out {out}: the suffix must be one of {sorted(_FORMATS)} (NetCDF, zarr, GeoTIFF); got "
                         f"{out.suffix!r}")
    return fmt


def _crs_of(da: xr.DataArray) -> Any:
    try:
        import rioxarray  # noqa: F401  (registers the .rio accessor)
    except ImportError:
        return None
    try:
        return da.rio.crs
    except Exception:
        return None


def write_map(pred: xr.DataArray, out: str | Path, *, overwrite: bool = False, scheduler: Any = None,
              timeout: float = SCHEDULER_TIMEOUT_S, workers: int | None = None) -> Path:
    """Write a map (lazy or not) to ``out`` chunk by chunk: ``.nc`` (NetCDF4), ``.zarr`` or ``.tif``
    (GeoTIFF; needs a CRS). Written to ``out.part`` and renamed, so a failure leaves any previous
    output intact; an existing ``out`` raises unless ``overwrite``."""
    p = Path(out)
    fmt = _format_of(p)
    if p.exists() and not overwrite:
        raise FileExistsError(f"out {p} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    if fmt == "geotiff" and _crs_of(pred) is None:
        raise ValueError(f"out {p}: a GeoTIFF needs a coordinate reference system and the scene has none; write "
                         "NetCDF (.nc) or zarr (.zarr) instead, or give the scene one with scene.rio.write_crs(...)")
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".part")
    _remove(tmp)
    with _scheduler(scheduler, timeout) as (kind, client):
        if fmt == "netcdf":
            delayed = pred.to_netcdf(tmp, engine="h5netcdf", compute=False)
            _compute(delayed, kind, client, workers)
        elif fmt == "zarr":
            with warnings.catch_warnings():  # zarr 3 notes that string coordinates (units) are not in its spec yet
                warnings.filterwarnings("ignore", message=".*Zarr V3 specification.*")
                delayed = pred.to_dataset(name=pred.name or "prediction").to_zarr(tmp, mode="w", compute=False,
                                                                                 consolidated=False)
                _compute(delayed, kind, client, workers)
        else:
            raster = pred.transpose("output", "y", "x")
            if raster.chunks is not None:
                raster = _compute(raster, kind, client, workers)
            raster = raster.drop_vars("units").rio.write_crs(_crs_of(pred))
            raster.attrs = {k: v for k, v in raster.attrs.items() if isinstance(v, (str, int, float))}
            raster.attrs["output_names"] = ",".join(str(o) for o in pred["output"].values)
            raster.rio.to_raster(tmp, driver="GTiff", tiled=True, lock=threading.Lock())
    if p.exists():
        _remove(p)
    tmp.rename(p)
    return p


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


# -- prediction ---------------------------------------------------------------------------------------
def predict_map(
    model: Model | str | Path,
    scene: Any,
    *,
    chunks: Any = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    scheduler: Any = None,
    timeout: float = SCHEDULER_TIMEOUT_S,
    members: bool = False,
    workers: int | None = None,
    batch_size: int = 65536,
) -> xr.DataArray:
    """The ``(y, x, output)`` map of ``model`` over ``scene``.

    ``model``: a :class:`Model` or a model file. ``scene``: a ``(y, x, wavelength)`` DataArray
    (in memory or dask-backed), a Dataset holding one as ``spectra``, or a file
    (:func:`open_scene`). ``chunks``: re-chunk the scene (pixels per side, ``(rows, cols)``,
    ``{"y", "x"}`` or ``"auto"``); a dask-backed scene keeps its spatial chunks otherwise, and
    an in-memory scene without ``chunks`` is predicted in one batched call.

    Without ``out`` and ``scheduler`` the result is lazy when the scene is dask-backed (call
    ``.compute()``), in memory otherwise. With ``out`` (``.nc``, ``.zarr``, ``.tif``) the map is
    written chunk by chunk and the written file is returned opened lazily; an existing ``out``
    raises ``FileExistsError`` unless ``overwrite``. ``scheduler``: ``"threads"`` (default; torch
    runs one thread per task, ``workers`` tasks at once), ``"synchronous"``, a
    ``dask.distributed.Client`` or a scheduler address (a ``ConnectionError`` after ``timeout``
    seconds when nobody answers). Pixels with NaN in any band come out NaN.
    """
    if not isinstance(model, Model):
        model = load_model(model)
    if out is not None:
        p = Path(out)
        _format_of(p)
        if p.exists() and not overwrite:  # before any work
            raise FileExistsError(f"out {p} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    if isinstance(scene, (str, Path)):
        cube = open_scene(scene, chunks="auto" if chunks is None else chunks)
    else:
        cube = _as_cube(scene, chunks)
    lazy = cube.chunks is not None
    crs = _crs_of(cube)
    on_cluster = scheduler not in (None, "threads", "threading", "synchronous", "sync")
    pred = model.predict(cube, members=members, batch_size=batch_size, threads=1 if on_cluster else None)
    if crs is not None:
        pred = pred.rio.write_crs(crs)
    if out is not None:
        written = write_map(pred, out, overwrite=overwrite, scheduler=scheduler, timeout=timeout, workers=workers)
        if _format_of(written) == "zarr":
            return xr.open_zarr(written, consolidated=False)[pred.name or "prediction"]
        if _format_of(written) == "netcdf":
            return xr.open_dataarray(written, engine="h5netcdf", chunks={})
        import rioxarray

        return rioxarray.open_rasterio(written, chunks={})
    if lazy and scheduler is not None:
        with _scheduler(scheduler, timeout) as (kind, client):
            return _compute(pred, kind, client, workers)
    return pred


# -- figure -------------------------------------------------------------------------------------------
def _thin(da: xr.DataArray, max_pixels: int) -> xr.DataArray:
    step = int(max(1, np.ceil(max(da.sizes["y"], da.sizes["x"]) / max_pixels)))
    return da.isel(y=slice(None, None, step), x=slice(None, None, step)) if step > 1 else da


def map_figure(pred: xr.DataArray, truth: xr.DataArray | None = None, *, outputs: Sequence[str] | None = None,
               max_pixels: int = 400, colorscale: str = "Viridis") -> Any:
    """A plotly figure: one row per output, the predicted map (and, when ``truth`` is given with
    the same ``(y, x, output)`` layout, the ground truth and the error prediction − truth beside it).
    Maps larger than ``max_pixels`` per side are shown every k-th pixel."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if not isinstance(pred, xr.DataArray) or not {"y", "x", "output"} <= set(pred.dims):
        raise ValueError(f"pred must be a (y, x, output) DataArray from predict_map; got {describe(pred)}")
    names = [str(o) for o in pred["output"].values] if outputs is None else list(outputs)
    missing = [o for o in names if o not in [str(v) for v in pred["output"].values]]
    if missing:
        raise ValueError(f"outputs {missing} are not in the map; it has {list(pred['output'].values)}")
    if truth is not None:
        if not isinstance(truth, xr.DataArray) or not {"y", "x", "output"} <= set(truth.dims):
            raise ValueError(f"truth must be a (y, x, output) DataArray; got {describe(truth)}")
        if truth.sizes["y"] != pred.sizes["y"] or truth.sizes["x"] != pred.sizes["x"]:
            raise ValueError(f"truth is {truth.sizes['y']} x {truth.sizes['x']} pixels but the map is "
                             f"{pred.sizes['y']} x {pred.sizes['x']}")
    p = _thin(pred.transpose("y", "x", "output"), max_pixels)
    t = None if truth is None else _thin(truth.transpose("y", "x", "output"), max_pixels)
    cols = 1 if t is None else 3
    units = dict(zip([str(o) for o in pred["output"].values],
                     [str(u) for u in pred["units"].values])) if "units" in pred.coords else {}
    titles = []
    for o in names:
        u = f" [{units[o]}]" if units.get(o) else ""
        titles += [f"{o}{u}: predicted"] + ([f"{o}: ground truth", f"{o}: error"] if t is not None else [])
    fig = make_subplots(rows=len(names), cols=cols, subplot_titles=titles, horizontal_spacing=0.08,
                        vertical_spacing=min(0.08, 0.3 / max(1, len(names))))
    for i, o in enumerate(names, start=1):
        pv = np.asarray(p.sel(output=o).values, dtype=np.float64)
        panels = [(pv, colorscale, None)]
        if t is not None:
            tv = np.asarray(t.sel(output=o).values, dtype=np.float64)
            err = pv - tv
            lim = float(np.nanmax(np.abs(err))) if np.isfinite(err).any() else 1.0
            panels += [(tv, colorscale, None), (err, "RdBu_r", lim)]
        lo = np.nanmin([np.nanmin(v) for v, _, _ in panels[:2] if np.isfinite(v).any()] or [0.0])
        hi = np.nanmax([np.nanmax(v) for v, _, _ in panels[:2] if np.isfinite(v).any()] or [1.0])
        for j, (values, cs, sym) in enumerate(panels, start=1):
            zmin, zmax = (-sym, sym) if sym is not None else (lo, hi)
            bar_x = (j / cols) - 0.02
            fig.add_trace(go.Heatmap(z=values, colorscale=cs, zmin=zmin, zmax=zmax, showscale=(j != 2),
                                     colorbar={"len": 0.9 / len(names), "x": bar_x,
                                               "y": 1 - (i - 0.5) / len(names), "thickness": 10}),
                          row=i, col=j)
            fig.update_yaxes(autorange="reversed", scaleanchor=f"x{(i - 1) * cols + j if (i - 1) * cols + j > 1 else ''}",
                             row=i, col=j)
    fig.update_layout(height=300 * len(names) + 60, width=360 * cols + 80, title="Predicted map",
                      margin={"t": 60, "l": 40, "r": 40, "b": 30})
    return fig

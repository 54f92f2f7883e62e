"""ENVI, one door for images and spectral libraries (:func:`open_envi`): one rule for
wavelength units, bad bands, no-data, band order, the reflectance scale factor and
truncated files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..spectra import WAVELENGTH_UNITS, order_bands, to_nanometres
from .common import check_scale

_ENVI_DATA_SUFFIXES = ("", ".img", ".dat", ".sli", ".raw", ".bsq", ".bil", ".bip",
                       ".IMG", ".DAT", ".SLI", ".RAW")
#: ENVI ``data type`` codes and their numpy types.
_ENVI_DTYPES = {1: "u1", 2: "i2", 3: "i4", 4: "f4", 5: "f8", 6: "c8", 9: "c16",
                12: "u2", 13: "u4", 14: "i8", 15: "u8"}
#: Values below this are no-data in float files (splib07 marks deleted channels with -1.23e34).
_NO_DATA_BELOW = -1e30


@dataclass
class EnviFile:
    """What :func:`open_envi` read from an ENVI header and its data file.

    ``values``: (rows, cols, B) for an image, (N, B) for a spectral library; float (float32
    for images, lazily on dask with ``chunks``; float64 for libraries), no-data as NaN, bad bands
    (``bbl``) removed, bands in increasing wavelength order; unscaled unless ``apply_scale``.
    ``wavelength`` (B,) [nm] or None when the header has none and none was passed.
    ``reflectance_scale``: the header's ``reflectance scale factor`` (None if absent).
    """

    values: Any
    wavelength: np.ndarray | None
    metadata: dict
    header: Path
    data: Path
    library: bool
    names: list[str] | None
    reflectance_scale: float | None
    scale_applied: bool
    bad_bands: int


def envi_paths(path: Path) -> tuple[Path, Path]:
    """(header, data file) for a path naming either of them."""
    if path.suffix.lower() == ".hdr":
        hdr = path
        if not hdr.is_file():
            raise FileNotFoundError(f"{path}: ENVI header not found")
        base = str(path)[: -len(path.suffix)]
        data = next((Path(base + e) for e in _ENVI_DATA_SUFFIXES if Path(base + e).is_file()), None)
        if data is None:
            raise ValueError(
                f"{path}: no ENVI data file found beside the header (looked for "
                f"{[Path(base + e).name for e in _ENVI_DATA_SUFFIXES[:5]]}...)"
            )
        return hdr, data
    cands = (path.with_suffix(".hdr"), Path(str(path) + ".hdr"))
    hdr = next((c for c in cands if c.is_file()), None)
    if hdr is None:
        raise ValueError(f"{path}: ENVI header not found next to it (looked for {[str(c) for c in cands]})")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ENVI data file (its header {hdr} exists)")
    return hdr, path


def _envi_size_check(meta: Mapping[str, Any], hdr: Path, data: Path) -> None:
    """Refuse a data file shorter than its header says, naming expected and actual bytes."""
    try:
        lines, samples, bands = (int(meta[k]) for k in ("lines", "samples", "bands"))
        code = int(meta.get("data type", 4))
        offset = int(meta.get("header offset", 0))
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{hdr}: ENVI header lacks or garbles 'lines'/'samples'/'bands'/'data type' ({err})") from None
    if code not in _ENVI_DTYPES:
        raise ValueError(f"{hdr}: ENVI 'data type' {code} is not one of {sorted(_ENVI_DTYPES)}")
    size = np.dtype(_ENVI_DTYPES[code]).itemsize
    expected = offset + lines * samples * bands * size
    actual = data.stat().st_size
    if actual < expected:
        raise ValueError(
            f"{data}: truncated ENVI data file: its header {hdr.name} describes {lines} lines x "
            f"{samples} samples x {bands} bands of {np.dtype(_ENVI_DTYPES[code]).name}"
            + (f" after a {offset}-byte offset" if offset else "")
            + f" = {expected} bytes, but the file has {actual} bytes"
        )


class _EnviChunks:
    """An ENVI image (rows, cols, bands) as a picklable array-like for dask: it holds the data file's path
    and layout (dtype with byte order, shape, interleave, header offset), never an open file, so a
    chunked graph can go to a process-based cluster (a worker on another machine reads the file
    itself). Every slice maps the file anew and copies its chunk out; the mapping is released after
    every chunk, so memory stays bounded by the chunk size (one long-lived memory map let a
    1000 x 1000 x 224 scene grow the process by ~380 MiB of anonymous memory during a chunked mean;
    this: ~33 MiB at both 500 x 500 and 1000 x 1000; benchmarks/envi_read_memory.py; measured again with
    this picklable layout: peak anonymous memory 223 / 224 MiB at 500 x 500 / 1000 x 1000 x 224 int16,
    of which ~180 MiB are the imports, against 232 / 233 MiB for the spectral-backed version before)."""

    def __init__(self, data: str | Path, dtype: Any, shape: tuple[int, int, int], interleave: str, offset: int = 0):
        if interleave not in ("bip", "bil", "bsq"):
            raise ValueError(f"{data}: ENVI interleave must be bip, bil or bsq; got {interleave!r}")
        self.data, self.dtype, self.interleave, self.offset = str(data), np.dtype(dtype), interleave, int(offset)
        self.shape, self.ndim = tuple(int(v) for v in shape), 3

    @classmethod
    def from_header(cls, meta: Mapping[str, Any], data: Path, src: str) -> _EnviChunks:
        """The layout a (size-checked) header gives: ``data type``, ``byte order``, ``interleave``, ``header offset``."""
        try:
            code = int(meta.get("data type", 4))
            dtype = np.dtype(_ENVI_DTYPES[code]).newbyteorder(
                ">" if str(meta.get("byte order", "0")).strip() == "1" else "<")
            shape = (int(meta["lines"]), int(meta["samples"]), int(meta["bands"]))
            interleave = str(meta.get("interleave", "bsq")).strip().lower()
            offset = int(meta.get("header offset", 0))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{src}: incomplete ENVI header ({err})") from None
        if interleave not in ("bip", "bil", "bsq"):
            raise ValueError(f"{src}: ENVI interleave must be bip, bil or bsq; got {interleave!r}")
        return cls(data, dtype, shape, interleave, offset)

    def _view(self) -> np.ndarray:
        r, c, b = self.shape
        raw = {"bip": (r, c, b), "bil": (r, b, c), "bsq": (b, r, c)}[self.interleave]
        mm = np.memmap(self.data, dtype=self.dtype, mode="r", offset=self.offset, shape=raw)
        return {"bip": mm, "bil": mm.transpose(0, 2, 1), "bsq": mm.transpose(1, 2, 0)}[self.interleave]

    def __getitem__(self, key: Any) -> np.ndarray:
        view = self._view()
        try:
            return np.array(view[key])
        finally:
            del view


def _nodata_to_nan(block: np.ndarray, nodata: float | None) -> np.ndarray:
    """float32 (no copy when already float32 and nothing is missing); the header's no-data value and
    float values below -1e30 → NaN. One reduction per block when nothing is missing (no mask)."""
    out = block.astype(np.float32, copy=False)
    if block.size == 0:
        return out
    low = block.dtype.kind == "f" and bool(block.min() < _NO_DATA_BELOW)
    hit = nodata is not None and bool((block == nodata).any())
    if not (low or hit):
        return out
    missing = (block < _NO_DATA_BELOW) if low else np.zeros(block.shape, bool)
    if hit:
        missing |= block == nodata
    return np.where(missing, np.float32(np.nan), out)


def _dask_chunks(chunks: Any, src: str) -> Any:
    """dask chunks for a (rows, cols, bands) cube from an int, (rows, cols), dict or 'auto'."""
    if chunks == "auto" or isinstance(chunks, int):
        return (chunks, chunks, -1)
    if isinstance(chunks, Mapping):
        bad = set(chunks) - {"y", "x", "wavelength"}
        if bad:
            raise ValueError(f"{src}: chunks keys must be 'y', 'x' (and 'wavelength'); got {sorted(chunks)}")
        return (chunks.get("y", "auto"), chunks.get("x", "auto"), -1)
    if isinstance(chunks, Sequence) and len(chunks) in (2, 3):
        return (chunks[0], chunks[1], -1)
    raise ValueError(
        f"{src}: chunks must be an int (pixels per side), (rows, cols), {{'y': ..., 'x': ...}} or "
        f"'auto'; got {chunks!r}"
    )


def open_envi(
    path: str | Path,
    *,
    wavelength: Any = None,
    wavelength_units: str | None = None,
    bands: str = "error",
    apply_scale: bool = False,
    chunks: Any = None,
    strict_units: bool = False,
) -> EnviFile:
    """The one ENVI entry point: an image or a spectral library (``.hdr`` + data file).

    One rule for the header fields every ENVI reader in hsaug honours:

    * ``wavelength`` + ``wavelength units`` → nm with :func:`hsaug.spectra.to_nanometres`
      (nm, µm/um/micrometers/micrometres/microns, cm⁻¹/wavenumber; no unit and values
      below 100 → µm with a warning, or an error when ``strict_units``).
      ``wavelength=`` / ``wavelength_units=`` override the header.
    * ``bbl`` (bad band list, 0 = bad): those bands are dropped.
    * band order: ``bands=`` ``"error"`` | ``"sort"`` | ``"average"``
      (:func:`hsaug.spectra.order_bands`).
    * ``data ignore value`` and float values below -1e30 become NaN.
    * ``reflectance scale factor`` is reported (``reflectance_scale``); values are divided by
      it only when ``apply_scale``.

    ``chunks`` (images only): return a lazy dask array whose chunks each map the file and copy
    their part out; the graph holds the file's path and layout, no open file, so it pickles (a
    process-based dask.distributed cluster reads the chunks where they run).
    A data file shorter than the header says is refused, naming expected and actual bytes.
    """
    from spectral.io import envi

    hdr, data = envi_paths(Path(path))
    src = str(hdr)
    try:
        meta = envi.read_envi_header(str(hdr))
    except Exception as err:  # spectral raises its own exception types
        raise ValueError(f"{src}: cannot be read as an ENVI header ({type(err).__name__}: {err})") from None
    _envi_size_check(meta, hdr, data)
    try:
        obj = envi.open(str(hdr), str(data))
    except Exception as err:
        raise ValueError(f"{src}: cannot be opened as ENVI ({type(err).__name__}: {err})") from None
    library = isinstance(obj, envi.SpectralLibrary)
    if library:
        if chunks is not None:
            raise ValueError(f"{src}: chunks applies to ENVI images, not spectral libraries")
        values = np.array(obj.spectra, dtype=np.float64)
        names = [str(n).strip() for n in (obj.names or [])]
    else:
        names = None
        image = _EnviChunks.from_header(meta, data, src)
        if chunks is None:  # one float32 copy straight from a memory map (spectral's load() peaks at ~3x that)
            values = np.array(image[:, :, :], dtype=np.float32)
        else:
            import dask.array as da

            values = da.from_array(image, chunks=_dask_chunks(chunks, src), asarray=False, lock=False,
                                   meta=np.empty((0, 0, 0), image.dtype))
    # no-data first, so that no ignore value enters an average of bands
    ignore = meta.get("data ignore value")
    if ignore is not None and str(ignore).strip().lower() != "nan":
        try:
            ignore = float(ignore)
        except (TypeError, ValueError):
            raise ValueError(f"{src}: 'data ignore value' must be a number; got {ignore!r}") from None
    else:
        ignore = None
    if isinstance(values, np.ndarray):
        nodata = values < _NO_DATA_BELOW
        if ignore is not None:
            nodata |= values == ignore
        values[nodata] = np.nan  # in place: values is this reader's own copy
    else:  # per chunk, float32 (one reduction when nothing is missing)
        values = values.map_blocks(_nodata_to_nan, ignore, dtype=np.float32)
    n_bands = values.shape[-1]
    # bad bands
    bbl = meta.get("bbl")
    keep = None
    if bbl is not None:
        keep = np.asarray([float(b) for b in bbl]) != 0
        if keep.size != n_bands:
            raise ValueError(f"{src}: 'bbl' has {keep.size} entries for {n_bands} bands; they must match")
        if keep.sum() < 2:
            raise ValueError(f"{src}: 'bbl' marks {int((~keep).sum())} of {n_bands} bands bad; fewer than 2 are left")
    # wavelength
    wl = None
    if wavelength is not None:
        wl = to_nanometres(wavelength, wavelength_units or "nm", f"{src}: wavelength=", strict=strict_units)
        units_kind = WAVELENGTH_UNITS.get(str(wavelength_units or "nm").strip().lower())
    elif "wavelength" in meta:
        units = wavelength_units if wavelength_units is not None else meta.get("wavelength units")
        wl = to_nanometres(meta["wavelength"], units, src, strict=strict_units)
        units_kind = WAVELENGTH_UNITS.get(str(units or "").strip().lower())
    if wl is not None and wl.size != n_bands:
        raise ValueError(f"{src}: {wl.size} wavelengths for {n_bands} bands; they must match")
    n_bad = 0
    if keep is not None and not keep.all():
        n_bad = int((~keep).sum())
        idx = np.nonzero(keep)[0]
        values = values[..., idx]
        wl = None if wl is None else wl[keep]
    if wl is not None:
        order = order_bands(wl, bands, f"{src}: wavelength", flip_decreasing=units_kind == "cm-1")
        values = order.apply(values)
        wl = order.wavelength
    factor = meta.get("reflectance scale factor")
    scale = None if factor is None else check_scale(factor, f"{src}: reflectance scale factor")
    if apply_scale and scale is not None:
        values = values / scale
    return EnviFile(values, wl, dict(meta), hdr, data, library, names if library else None, scale,
                    bool(apply_scale and scale is not None), n_bad)

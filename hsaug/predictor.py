"""A trained model with a lifecycle: predict, save, load, export.

:class:`Model` is the whole path from a spectrum to a prediction in the data's units:

    spectra (N, B) on the model's grid ─> preprocessing (fitted) ─> MLP ensemble (M members)
    ─> label scaling undone ─> output constraint ─> mean over members (or each member)

It holds the weights (:class:`hsaug.models.MLPEnsemble`), the fitted preprocessing
(:mod:`hsaug.preprocess`), the label scaling, the output names and units, the wavelength grid
[nm], the quantity the model was trained on (``{"quantity", "reflectance_scale"}``), the
training configuration and the hsaug version.

* :meth:`Model.predict` takes numpy / torch spectra (N, B) or a DataArray whose last dim is
  ``wavelength`` (``("sample", "wavelength")``, ``("y", "x", "wavelength")``, dask-backed or
  not) and returns the same kind: numpy (N, s), torch (N, s), or a DataArray with the
  ``wavelength`` dim replaced by ``output`` (coordinates and attrs kept; lazy when the input
  is dask-backed). Rows with NaN or inf in any band come out NaN. Another wavelength grid is
  resampled with :func:`hsaug.spectra.resample` when it covers the model's (a
  :class:`ResampleWarning` says so) and refused otherwise; another declared quantity is
  converted when that is exact (reflectance scale, absorbance ↔ reflectance) and refused
  otherwise.
* :meth:`Model.save` writes one ``.safetensors`` file: the weights as tensors and everything
  else as JSON in the file's metadata. Loading (:func:`load_model`) executes nothing.
* :meth:`Model.to_onnx` exports preprocessing → network → scaling → constraint → mean; the
  ONNX graph takes float32 spectra on the model's grid.

Output constraints (chosen at training time, kept in the model): ``"none"``; ``"nonneg"`` —
``relu`` of the prediction in the data's units (the network trains on the unconstrained outputs;
predictions, validation and test metrics are projected); ``"sum_to_one"`` — a softmax over the
outputs, trained through (abundances: non-negative and summing to one).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import nn

from . import __version__
from . import preprocess as _pre
from .losses import LabelScaling
from .models import MLPEnsemble
from .spectra import describe, check_wavelength, gaussian_response

__all__ = ["Model", "load_model", "ResampleWarning", "ConversionWarning", "CONSTRAINTS", "constrain",
           "FORMAT", "FORMAT_VERSION"]

FORMAT = "hsaug-model"
FORMAT_VERSION = 1
CONSTRAINTS = ("none", "nonneg", "sum_to_one")
GRID_TOLERANCE_NM = 1e-3  # two grids closer than this everywhere are the same grid


class ResampleWarning(UserWarning):
    """Spectra on another wavelength grid were resampled to the model's."""


class ConversionWarning(UserWarning):
    """Spectra declared as another quantity / scale were converted to the model's."""


def check_constraint(constraint: Any) -> str:
    if constraint is None:
        return "none"
    if constraint not in CONSTRAINTS:
        raise ValueError(f"constraint must be one of {list(CONSTRAINTS)} (or None); got {constraint!r}")
    return str(constraint)


def constrain(raw: torch.Tensor, low: torch.Tensor, span: torch.Tensor, constraint: str) -> torch.Tensor:
    """Network outputs (..., s) → predictions in the data's units under ``constraint``.

    ``none``: ``raw · span + low`` (the label scaling undone); ``nonneg``: its ``relu``;
    ``sum_to_one``: ``softmax(raw)`` over the outputs (the raw outputs are logits).
    """
    if constraint == "sum_to_one":
        return torch.softmax(raw, dim=-1)
    y = raw * span + low
    return torch.relu(y) if constraint == "nonneg" else y


class _Pipeline(nn.Module):
    """preprocess → network → constrain → mean over members: (N, B) → (N, s) or (M, N, s)."""

    def __init__(self, pre: _pre.Preprocess, network: MLPEnsemble, low: torch.Tensor, span: torch.Tensor,
                 constraint: str, mean: bool = True) -> None:
        super().__init__()
        self.pre, self.network, self.constraint, self.mean = pre, network, constraint, mean
        self.register_buffer("low", low.clone())
        self.register_buffer("span", span.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raw = self.network(self.pre.forward(x))[1]  # (M, N, s)
        y = constrain(raw, self.low, self.span, self.constraint)
        return y.mean(dim=0) if self.mean else y


def _json_floats(values: Any) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]


def _quantity(q: Any) -> dict[str, Any]:
    if q is None:
        return {"quantity": "unknown", "reflectance_scale": None}
    if isinstance(q, str):
        return {"quantity": q, "reflectance_scale": 1.0 if q == "reflectance" else None}
    if isinstance(q, Mapping) and "quantity" in q:
        scale = q.get("reflectance_scale")
        return {"quantity": str(q["quantity"]), "reflectance_scale": None if scale is None else float(scale)}
    raise ValueError(f"quantity must be a name ('reflectance', 'absorbance', 'unknown', …) or a dict with "
                     f"'quantity' and 'reflectance_scale'; got {describe(q)}")


class Model:
    """A trained regressor: preprocessing + MLP ensemble + label scaling + output constraint.

    ``network``: a trained :class:`hsaug.models.MLPEnsemble` (M members); ``scaling``: the
    :class:`hsaug.losses.LabelScaling` its targets were trained with; ``wavelength`` (B,) [nm];
    ``outputs``: names of the s outputs, ``units`` their units ('' if none); ``preprocess``: a
    fitted :class:`hsaug.preprocess.Preprocess` (None: ``none``); ``constraint``: one of
    ``CONSTRAINTS``; ``quantity``: what the training spectra were (a name or
    ``{"quantity", "reflectance_scale"}``); ``training``: JSON-able description (configs, seeds,
    settings, metrics); ``members``: one JSON-able dict per member (its config and seed).
    """

    def __init__(
        self,
        network: MLPEnsemble,
        scaling: LabelScaling,
        wavelength: Any,
        outputs: Sequence[str],
        *,
        units: str | Sequence[str] = "",
        preprocess: _pre.Preprocess | str | None = None,
        constraint: str | None = "none",
        quantity: Any = None,
        training: Mapping[str, Any] | None = None,
        members: Sequence[Mapping[str, Any]] | None = None,
        version: str = __version__,
    ) -> None:
        if not isinstance(network, MLPEnsemble):
            raise ValueError(f"network must be an hsaug.models.MLPEnsemble; got {describe(network)}")
        self.network = network.cpu().eval()
        self.wavelength = check_wavelength(wavelength, network.n_bands).double().numpy() \
            if not isinstance(wavelength, np.ndarray) else np.asarray(wavelength, dtype=np.float64)
        check_wavelength(self.wavelength, network.n_bands)
        self.outputs = [str(o) for o in outputs]
        if len(self.outputs) != network.n_outputs:
            raise ValueError(f"outputs names {len(self.outputs)} outputs but the network has {network.n_outputs}")
        self.units = [units] * len(self.outputs) if isinstance(units, str) else [str(u) for u in units]
        if len(self.units) != len(self.outputs):
            raise ValueError(f"units must give one unit per output ({len(self.outputs)}); got {units!r}")
        self.scaling = LabelScaling(torch.as_tensor(scaling.low, dtype=torch.float32).cpu(),
                                    torch.as_tensor(scaling.span, dtype=torch.float32).cpu())
        if self.scaling.low.shape != (network.n_outputs,):
            raise ValueError(f"scaling must have one value per output ({network.n_outputs}); got "
                             f"{tuple(self.scaling.low.shape)}")
        self.preprocess = _pre.build(preprocess if preprocess is not None else "none")
        if not self.preprocess.fitted:
            raise ValueError(f"preprocess {self.preprocess.spec!r} must be fitted on the training spectra first")
        if self.preprocess.n_bands is not None and self.preprocess.n_bands != network.n_bands:
            raise ValueError(f"preprocess was fitted on {self.preprocess.n_bands} bands but the network takes "
                             f"{network.n_bands}")
        self.preprocess.n_bands = network.n_bands
        self.constraint = check_constraint(constraint)
        if self.constraint == "sum_to_one" and network.n_outputs < 2:
            raise ValueError("constraint 'sum_to_one' needs at least two outputs")
        self.quantity = _quantity(quantity)
        self.training = dict(training or {})
        self.members = [dict(m) for m in members] if members is not None else \
            [{} for _ in range(network.n_members)]
        if len(self.members) != network.n_members:
            raise ValueError(f"members must describe each of the {network.n_members} members; got {len(self.members)}")
        self.version = str(version)
        self._pipe = _Pipeline(self.preprocess, self.network, self.scaling.low, self.scaling.span,
                               self.constraint, mean=False).eval()

    # -- description -----------------------------------------------------------------------------
    @property
    def n_members(self) -> int:
        return self.network.n_members

    @property
    def n_bands(self) -> int:
        return self.network.n_bands

    @property
    def n_outputs(self) -> int:
        return self.network.n_outputs

    def __repr__(self) -> str:
        return (f"Model({self.n_members} member{'s' * (self.n_members > 1)}, {self.n_bands} bands "
                f"{self.wavelength[0]:g}–{self.wavelength[-1]:g} nm → {self.outputs}, preprocess="
                f"{self.preprocess.spec!r}, constraint={self.constraint!r}, quantity={self.quantity['quantity']!r})")

    def metadata(self) -> dict[str, Any]:
        """Everything but the weights, JSON-able (what :meth:`save` writes beside them)."""
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "hsaug_version": self.version,
            "architecture": self.network.config(), "outputs": self.outputs, "units": self.units,
            "wavelength": _json_floats(self.wavelength), "wavelength_units": "nm",
            "preprocess": self.preprocess.state(), "constraint": self.constraint,
            "scaling": {"low": _json_floats(self.scaling.low.double()),
                        "span": _json_floats(self.scaling.span.double())},
            "quantity": self.quantity, "training": self.training, "members": self.members,
        }

    # -- prediction ----------------------------------------------------------------------------
    @torch.no_grad()
    def _predict_tensor(self, x: torch.Tensor, members: bool, batch_size: int) -> torch.Tensor:
        """(N, B) float tensor on the model's grid → (N, s) or (M, N, s) float32; NaN rows → NaN."""
        x = x.to(torch.float32)
        n = x.shape[0]
        # one reduction per row finds NaN/inf (they propagate through the sum); rows whose finite
        # values merely overflow the sum are checked band by band
        ok = torch.isfinite(x.sum(dim=1))
        all_ok = bool(ok.all())
        if not all_ok:
            suspect = (~ok).nonzero().flatten()
            ok[suspect] = torch.isfinite(x[suspect]).all(dim=1)
            all_ok = bool(ok.all())
        if not all_ok:
            x = torch.where(ok[:, None], x, torch.zeros((), dtype=x.dtype))
        parts = [self._pipe(x[i:i + batch_size]) for i in range(0, n, batch_size)] if n else \
            [torch.zeros(self.n_members, 0, self.n_outputs)]
        y = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        if not members:
            y = y.mean(dim=0) if self.n_members > 1 else y[0]
        if not all_ok:
            y[..., ~ok, :] = float("nan")
        return y

    def _grid_map(self, source: np.ndarray | None) -> np.ndarray | None:
        """None when ``source`` is the model's grid; else the (B_model, B_source) resampling
        matrix (warns) or ValueError when ``source`` does not cover the model's grid."""
        if source is None:
            return None
        src = check_wavelength(source, name="wavelength").double().numpy()
        if src.size == self.wavelength.size and np.abs(src - self.wavelength).max() <= GRID_TOLERANCE_NM:
            return None
        lo, hi = self.wavelength[0], self.wavelength[-1]
        if src[0] > lo + GRID_TOLERANCE_NM or src[-1] < hi - GRID_TOLERANCE_NM:
            raise ValueError(
                f"wavelength: the spectra's grid ({src.size} bands, {src[0]:g}–{src[-1]:g} nm) does not cover the "
                f"model's ({self.wavelength.size} bands, {lo:g}–{hi:g} nm); a model cannot predict bands it "
                "never saw. Use spectra that span the model's range.")
        warnings.warn(
            f"the spectra's grid ({src.size} bands, {src[0]:g}–{src[-1]:g} nm) differs from the model's "
            f"({self.wavelength.size} bands, {lo:g}–{hi:g} nm); resampling to the model's grid with Gaussian "
            "bands (hsaug.spectra.resample)", ResampleWarning, stacklevel=3)
        return gaussian_response(src, self.wavelength)

    def _quantity_map(self, attrs: Mapping[str, Any]) -> tuple[str, float] | None:
        """How to convert spectra declared by ``attrs`` to the model's quantity: None (nothing to do),
        ("scale", factor) or ("a2r"/"r2a", scale)."""
        q_in = attrs.get("quantity")
        if q_in is None or str(q_in).lower() == "unknown":
            return None
        q_in = str(q_in).lower()
        s_in = float(attrs.get("reflectance_scale", 1.0) or 1.0)
        q_m, s_m = self.quantity["quantity"], self.quantity["reflectance_scale"] or 1.0
        if q_m == "unknown":
            return None
        if q_in == q_m and (q_in != "reflectance" or s_in == s_m):
            return None
        if q_in == "reflectance" and q_m == "reflectance":
            how = ("scale", s_m / s_in)
        elif q_in == "absorbance" and q_m == "reflectance":
            how = ("a2r", s_m)
        elif q_in == "reflectance" and q_m == "absorbance":
            how = ("r2a", 1.0 / s_in)
        else:
            raise ValueError(
                f"the spectra are declared {q_in!r} but the model was trained on {q_m!r}; hsaug knows no exact "
                "conversion between them. Predict on spectra of the quantity the model was trained on.")
        warnings.warn(f"the spectra are declared {q_in!r} (reflectance_scale={s_in:g}) and the model was trained on "
                      f"{q_m!r} (reflectance_scale={s_m:g}); converting exactly ({how[0]})", ConversionWarning,
                      stacklevel=3)
        return how

    @staticmethod
    def _convert(x: np.ndarray | torch.Tensor, how: tuple[str, float] | None) -> Any:
        if how is None:
            return x
        kind, k = how
        if kind == "scale":
            return x * k
        if kind == "a2r":
            return (10.0 ** (-x)) * k
        with np.errstate(divide="ignore", invalid="ignore"):
            r = x * k
            return -torch.log10(r) if isinstance(r, torch.Tensor) else -np.log10(r)

    def _block_function(self, grid: np.ndarray | None, how: tuple[str, float] | None, members: bool,
                        batch_size: int, threads: int | None):
        """A numpy function (..., B_in) → (..., s) or (..., M, s) for xarray.apply_ufunc."""
        resp = None if grid is None else torch.as_tensor(grid.T, dtype=torch.float32)

        def run(block: np.ndarray) -> np.ndarray:
            if threads is not None and torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
            lead = block.shape[:-1]
            t = torch.as_tensor(np.ascontiguousarray(block)).reshape(-1, block.shape[-1])
            t = t.to(torch.float32) if t.dtype != torch.float32 else t
            t = self._convert(t, how)
            if resp is not None:
                t = t @ resp
            y = self._predict_tensor(t, members, batch_size)
            if members:
                y = y.permute(1, 0, 2)  # (N, M, s)
            return y.reshape(*lead, *y.shape[1:]).numpy()

        return run

    def predict(
        self,
        x: Any,
        *,
        wavelength: Any = None,
        members: bool = False,
        batch_size: int = 65536,
        threads: int | None = None,
    ) -> Any:
        """Predictions in the data's units.

        ``x``: numpy / torch spectra (N, B) — on the model's grid, or on ``wavelength`` [nm]
        (resampled when it covers the model's grid) — or a DataArray whose last dim is
        ``wavelength`` (e.g. ``("sample", "wavelength")`` or ``("y", "x", "wavelength")``, possibly
        dask-backed: the result is then lazy, computed chunk by chunk). Returns numpy (N, s) /
        torch (N, s) / a DataArray with ``wavelength`` replaced by ``output``; ``members=True``
        adds a leading member axis (M) instead of the ensemble mean. Rows with NaN come out NaN.
        ``threads``: torch threads inside dask tasks (None: leave torch's setting).
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
        if isinstance(x, xr.Dataset):
            if "spectra" not in x:
                raise ValueError(f"x: a Dataset must hold 'spectra'; it has {sorted(x.data_vars)}")
            x = x["spectra"].assign_attrs({**x.attrs, **x["spectra"].attrs})
        if isinstance(x, xr.DataArray):
            return self._predict_dataarray(x, wavelength, members, batch_size, threads)
        is_torch = isinstance(x, torch.Tensor)
        if not is_torch:
            try:
                x = np.asarray(x)
            except Exception:
                raise ValueError(f"x must be spectra (N, B) as numpy, torch or a DataArray; got {describe(x)}") from None
            if x.dtype.kind not in "fiu":
                raise ValueError(f"x must be numeric spectra (N, B); got {describe(x)}")
        if x.ndim != 2:
            raise ValueError(f"x must be 2-D spectra (N, B) (or a DataArray with a 'wavelength' dim); got {describe(x)}")
        grid = self._grid_map(wavelength) if wavelength is not None else None
        n_in = x.shape[1] if grid is None else grid.shape[1]
        if x.shape[1] != n_in or (grid is None and x.shape[1] != self.n_bands):
            raise ValueError(f"x has {x.shape[1]} bands but the model takes {self.n_bands} "
                             f"({self.wavelength[0]:g}–{self.wavelength[-1]:g} nm); pass wavelength=... to resample")
        t = x.detach().cpu() if is_torch else torch.as_tensor(np.ascontiguousarray(x))
        if grid is not None:
            t = t.to(torch.float32) @ torch.as_tensor(grid.T, dtype=torch.float32)
        y = self._predict_tensor(t, members, batch_size)
        return y.to(x.device) if is_torch else y.numpy()

    def _predict_dataarray(self, da: xr.DataArray, wavelength: Any, members: bool, batch_size: int,
                           threads: int | None) -> xr.DataArray:
        if "wavelength" not in da.dims:
            raise ValueError(f"x must have a 'wavelength' dim (e.g. ('sample', 'wavelength') or ('y', 'x', "
                             f"'wavelength')); got dims {da.dims}")
        if da.dims[-1] != "wavelength":
            da = da.transpose(..., "wavelength")
        if wavelength is None:
            if "wavelength" not in da.coords:
                raise ValueError("x has no 'wavelength' coordinate [nm]; pass wavelength=...")
            wl = np.asarray(da["wavelength"].values, dtype=np.float64)
            unit = str(da["wavelength"].attrs.get("units", "nm")).strip().lower()
            if unit not in ("nm", "nanometers", "nanometer", ""):
                raise ValueError(f"x['wavelength'] has units {unit!r}; the model's grid is in nm (convert first)")
        else:
            wl = wavelength
        grid = self._grid_map(wl)
        if grid is None and da.sizes["wavelength"] != self.n_bands:
            raise ValueError(f"x has {da.sizes['wavelength']} bands but the model takes {self.n_bands}")
        how = self._quantity_map(da.attrs)
        if da.chunks is not None and len(da.chunks[-1]) > 1:
            da = da.chunk({"wavelength": -1})  # one spectrum per task must be whole
        fn = self._block_function(grid, how, members, batch_size, threads)
        core_out = ["member", "output"] if members else ["output"]
        sizes = {"output": self.n_outputs, **({"member": self.n_members} if members else {})}
        out = xr.apply_ufunc(
            fn, da, input_core_dims=[["wavelength"]], output_core_dims=[core_out], dask="parallelized",
            output_dtypes=[np.float32], dask_gufunc_kwargs={"output_sizes": sizes}, keep_attrs=False)
        out = out.assign_coords(output=self.outputs, units=("output", self.units))
        if members:
            out = out.assign_coords(member=np.arange(self.n_members)).transpose("member", ...)
        keep = {k: v for k, v in da.attrs.items() if k not in ("quantity", "reflectance_scale", "units", "long_name")}
        out.attrs = {**keep, "long_name": "prediction", "model": repr(self), "hsaug_version": __version__,
                     "model_preprocess": self.preprocess.spec, "model_constraint": self.constraint}
        out.name = "prediction"
        return out

    # -- files -----------------------------------------------------------------------------------
    def save(self, path: str | Path, *, overwrite: bool = True) -> Path:
        """Write the model to one safetensors file (weights as tensors, the rest as JSON metadata)."""
        from safetensors.torch import save_file

        p = Path(path)
        if p.exists() and not overwrite:
            raise FileExistsError(f"{p} exists; pass overwrite=True to replace it")
        if p.is_dir():
            raise ValueError(f"path must be a file name; {p} is a folder")
        p.parent.mkdir(parents=True, exist_ok=True)
        tensors = {f"network.raw.{i}": t.detach().cpu().contiguous().clone() for i, t in enumerate(self.network.raw)}
        meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "hsaug": json.dumps(self.metadata())}
        tmp = p.with_name(p.name + ".part")
        save_file(tensors, str(tmp), metadata=meta)
        tmp.replace(p)
        return p

    def to_onnx(self, path: str | Path, *, members: bool = False, opset: int | None = None) -> Path:
        """Export to ONNX: input ``spectra`` float32 (N, B) on the model's grid, output ``prediction``
        (N, s) (``members=True``: (M, N, s)). Preprocessing, scaling and constraint are in the graph;
        resampling and quantity conversion are not (pass spectra as the model was trained on)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        pipe = _Pipeline(self.preprocess, self.network, self.scaling.low, self.scaling.span, self.constraint,
                         mean=not members).eval()
        example = torch.zeros(2, self.n_bands)
        batch = torch.export.Dim("batch", min=1)
        kw: dict[str, Any] = {} if opset is None else {"opset_version": opset}
        import logging

        quiet = logging.getLogger("torch.onnx._internal.exporter._registration")  # "torchvision is not installed"
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                onnx_program = torch.onnx.export(pipe, (example,), input_names=["spectra"],
                                                 output_names=["prediction"],
                                                 dynamic_shapes=({0: batch},), dynamo=True, verbose=False, **kw)
        finally:
            quiet.setLevel(level)
        onnx_program.save(str(p))
        return p

    @classmethod
    def from_fit(cls, result: Any, members: Sequence[int] | None = None, **kwargs: Any) -> Model:
        """A model from a :class:`hsaug.training.FitResult`: the given members (default all) of
        ``result.model``, with the result's fitted preprocessing, scaling, grid, outputs and settings."""
        idx = list(range(result.n_members)) if members is None else [int(m) for m in members]
        net = result.model.select(idx) if idx != list(range(result.n_members)) else result.model
        member_info = [{"config": result.configs[m].to_dict(), "seed": int(result.seeds[m]),
                        "metrics": {k: (float(v[m]) if np.isfinite(v[m]) else None)
                                    for k, v in result.metrics.items()}} for m in idx]
        pre = getattr(result, "preprocess", None)
        args: dict[str, Any] = {
            "units": getattr(result, "units", None) or "",
            "preprocess": pre, "constraint": getattr(result, "constraint", "none"),
            "quantity": getattr(result, "quantity", None),
            "training": {"settings": result.settings, "members": [int(m) for m in idx]},
            "members": member_info,
        }
        args.update(kwargs)
        return cls(net, result.scaling, result.wavelength, result.outputs, **args)


def load_model(path: str | Path) -> Model:
    """A :class:`Model` saved by :meth:`Model.save`. Nothing in the file is executed; a missing,
    truncated or foreign file raises with the reason."""
    from safetensors import safe_open

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"model file {p} does not exist")
    if not p.is_file():
        raise ValueError(f"model file {p} is not a file")
    try:
        with safe_open(str(p), framework="pt") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as err:  # safetensors raises its own error types
        raise ValueError(f"{p} is not a readable hsaug model file (a safetensors file written by Model.save): "
                         f"{type(err).__name__}: {err}. Was it truncated, or written by another program?") from None
    if header.get("format") != FORMAT or "hsaug" not in header:
        raise ValueError(f"{p} is a safetensors file but not an hsaug model (no '{FORMAT}' metadata)")
    try:
        version = int(header.get("format_version", "0"))
        meta = json.loads(header["hsaug"])
    except (ValueError, TypeError) as err:
        raise ValueError(f"{p}: the model metadata cannot be read ({err})") from None
    if version > FORMAT_VERSION:
        raise ValueError(f"{p} was written in model format {version} by hsaug {meta.get('hsaug_version')}; this "
                         f"hsaug ({__version__}) reads up to format {FORMAT_VERSION}; upgrade hsaug")
    try:
        arch = meta["architecture"]
        net = MLPEnsemble(arch["n_bands"], arch["n_outputs"], arch["n_members"],
                          feature_widths=arch["feature_widths"], head_widths=arch["head_widths"],
                          init=[0] * arch["n_members"])
        expected = [f"network.raw.{i}" for i in range(len(net.raw))]
        if sorted(tensors) != sorted(expected):
            raise ValueError(f"weights {sorted(tensors)} do not match the architecture ({expected})")
        with torch.no_grad():
            for i, dst in enumerate(net.raw):
                src = tensors[f"network.raw.{i}"]
                if src.shape != dst.shape or src.dtype != dst.dtype:
                    raise ValueError(f"weight network.raw.{i} has shape {tuple(src.shape)} {src.dtype}; the "
                                     f"architecture needs {tuple(dst.shape)} {dst.dtype}")
                dst.copy_(src)
        scaling = LabelScaling(torch.tensor(meta["scaling"]["low"], dtype=torch.float64).float(),
                               torch.tensor(meta["scaling"]["span"], dtype=torch.float64).float())
        pre = _pre.from_state(meta["preprocess"])
        return Model(net, scaling, np.asarray(meta["wavelength"], dtype=np.float64), meta["outputs"],
                     units=meta["units"], preprocess=pre, constraint=meta["constraint"], quantity=meta["quantity"],
                     training=meta.get("training"), members=meta.get("members"),
                     version=meta.get("hsaug_version", "unknown"))
    except (KeyError, TypeError) as err:
        raise ValueError(f"{p}: the model metadata is incomplete or malformed ({type(err).__name__}: {err})") from None
    except ValueError as err:
        raise ValueError(f"{p}: {err}") from None

"""The experiments: the paper's protocols (:mod:`.protocols`: Tables 1–4, Fig. 3, an α × r
sweep) and robustness (:mod:`.robustness`), all trained through the resumable runner
(:mod:`.runner`) with one :class:`hsaug.config.TrainSettings`. Statistics over seeds live
in :mod:`hsaug.stats` (no training imports), re-exported here for convenience.

A new protocol: a function in a module of this package that takes ``dataset``,
``settings: TrainSettings | None`` and its own parameters, calls
:func:`.runner.protocol_inputs` then :func:`.runner.run_configs` with its configurations,
and summarises the runs; export it here.
"""

from ..stats import robustness_effects, robustness_summary
from .protocols import (
    PAPER_AUGMENTATIONS,
    best_single,
    compare_augmentations,
    error_distribution,
    greedy_combination,
    sweep,
)
from .robustness import (
    ROBUSTNESS_LOSSES,
    robustness,
    robustness_main_methods,
    robustness_method_name,
    robustness_methods,
)
from .runner import dataset_fingerprint, protocol_inputs, run_configs, write_json
from .budget import authors_split, budget_study
from .fair import fair_best_single, fair_comparison, fair_greedy, select_on_validation
from .fewlabels import few_labels
from .limesoda import limesoda_table

__all__ = [
    "authors_split",
    "budget_study",
    "fair_comparison",
    "fair_best_single",
    "fair_greedy",
    "select_on_validation",
    "few_labels",
    "limesoda_table",
    "PAPER_AUGMENTATIONS",
    "compare_augmentations",
    "best_single",
    "greedy_combination",
    "error_distribution",
    "sweep",
    "ROBUSTNESS_LOSSES",
    "robustness",
    "robustness_methods",
    "robustness_method_name",
    "robustness_main_methods",
    "robustness_summary",
    "robustness_effects",
    "run_configs",
    "protocol_inputs",
    "dataset_fingerprint",
    "write_json",
]

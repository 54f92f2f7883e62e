import json

import numpy as np

from hsaug.store import ResultStore, run_key


def test_key_is_stable_and_order_independent():
    assert run_key({"a": 1, "b": [1, 2]}) == run_key({"b": (1, 2), "a": 1})
    assert run_key({"a": 1}) != run_key({"a": 2})


def test_put_get_all_and_no_temp_files(tmp_path):
    store = ResultStore(tmp_path, "table1")
    cfg = {"augmentation": "shift", "seed": 0}
    assert store.get(cfg) is None
    store.put(cfg, {"r2": np.float32(0.5), "pred": np.arange(3)})
    assert store.get(cfg) == {"r2": 0.5, "pred": [0, 1, 2]}
    assert [r["config"] for r in store.all()] == [cfg]
    assert not list((tmp_path / "table1").glob("*.tmp"))
    json.loads(store.path(cfg).read_text())


def test_memory_only_store_keeps_nothing():
    store = ResultStore(None, "x")
    store.put({"a": 1}, {"r2": 1.0})
    assert store.get({"a": 1}) is None and store.all() == []

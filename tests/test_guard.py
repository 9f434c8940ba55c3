"""The grader's pieces that need no kernel: cell analysis and the data-only wire between kernels.

``ch11lib.grading.cells`` reads cells without running them (which names a cell binds, which packages
it imports); ``ch11lib.grading.execute.top_level_names`` gives the student names the trusted kernel
proxies (module level only, not the locals of the functions). ``ch11lib.grading.wire`` carries
arguments and results between the kernels: data round-trips (generators by state), and a file that
is not data (a pickle that would run code, a tensor subclass, a module) is refused without running
anything. The end-to-end behaviour is in ``test_grader_stress.py`` and ``test_grader_attacks.py``.
"""

from __future__ import annotations

import os
import pickle
import random
import types

import numpy as np
import pytest
import torch

from ch11lib.grading import wire
from ch11lib.grading.cells import bound_names, imported_roots
from ch11lib.grading.execute import top_level_names


def test_static_analysis_of_cells() -> None:
    source = (
        "import torch.nn.functional as F\nfrom numpy import testing\nx, (y, z) = 1, (2, 3)\n"
        "def f():\n    local = 1\nclass C:\n    pass\nfor i in range(2):\n    pass\n"
    )
    assert {"F", "testing", "x", "y", "z", "f", "C", "i"} <= bound_names(source)
    assert imported_roots(source) == {"torch", "numpy"}
    assert bound_names("%timeit x") == set() and imported_roots("!ls") == set()
    # the proxied names: module level only (a test's own `local` or `q` is not the student's)
    assert top_level_names(source) == {"F", "testing", "x", "y", "z", "f", "C", "i"}
    assert top_level_names(
        "if True:\n    A = 1\ntry:\n    B = 2\nexcept Exception:\n    pass\n"
    ) == {
        "A",
        "B",
    }


def _round_trip(value, tmp_path, refs=None, resolve=None):
    path = str(tmp_path / "message.pt")
    wire.dump(wire.encode(value, refs), path)
    return wire.decode(wire.load(path), resolve)


def test_data_crosses_and_generators_keep_their_state(tmp_path) -> None:
    generator = torch.Generator().manual_seed(3)
    torch.rand(2, generator=generator)  # not at its seed any more
    value = {
        "numbers": [1, 2.5, 2**80, True, None, "text", b"bytes", complex(1, 2)],
        "tensors": (torch.arange(6).view(2, 3)[:, 1], torch.ones(2, requires_grad=True)),
        "array": np.arange(4, dtype=np.int16),
        "scalar": np.float32(1.5),
        "nested": {(1, "k"): {1, 2}, "r": range(3)},
        "dtype": torch.float16,
    }
    back = _round_trip(value, tmp_path)
    assert back["numbers"] == value["numbers"]
    assert (
        torch.equal(back["tensors"][0], torch.tensor([1, 4])) and back["tensors"][1].requires_grad
    )
    assert back["array"].dtype == np.int16 and type(back["scalar"]) is np.float32
    assert back["nested"] == {(1, "k"): {1, 2}, "r": range(3)} and back["dtype"] is torch.float16
    for original in (generator, random.Random(5), np.random.default_rng(7)):
        copy = _round_trip(original, tmp_path)
        if isinstance(original, torch.Generator):
            assert torch.equal(torch.rand(3, generator=copy), torch.rand(3, generator=original))
        elif isinstance(original, random.Random):
            assert copy.random() == original.random()
        else:
            assert copy.random() == original.random()


def test_objects_go_by_reference_or_not_at_all(tmp_path) -> None:
    model = torch.nn.Linear(2, 2)
    assert _round_trip([model], tmp_path, {id(model): "model"}, {"model": "theirs"}) == ["theirs"]
    for not_data in (
        model,
        types,
        lambda: 1,
        torch.nn.Parameter(torch.ones(1)).as_subclass(type("Fake", (torch.Tensor,), {})),
    ):
        with pytest.raises(wire.WireError):
            wire.encode(not_data)
    deep: list = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(wire.WireError):
        wire.encode(deep)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch /tmp/ch11-wire-pwned",))


def test_a_file_that_is_not_data_is_refused_without_running_it(tmp_path) -> None:
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"t": "list", "v": [_RunsCode()]}))
    with pytest.raises(wire.WireError):
        wire.load(str(path))
    assert not os.path.exists("/tmp/ch11-wire-pwned")
    path.write_bytes(b"x" * 2048)
    with pytest.raises(wire.WireError, match="larger"):
        wire.load(str(path), max_bytes=1024)
    with pytest.raises(wire.WireError):
        wire.decode({"t": "ref", "v": "model"}, {})  # no such object on this side
    with pytest.raises(wire.WireError):
        wire.decode({"t": "tensor", "v": "not a tensor"})

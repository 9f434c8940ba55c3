"""The student's side of a graded call: runs in the student's (sandboxed) kernel.

The trusted kernel (:mod:`ch11lib.grading.proxy`) executes one-line requests here, e.g.
``__import__('ch11lib.grading.agent').grading.agent.call('attention', 7)``; arguments and results
travel as files in the exchange folder (:mod:`ch11lib.grading.wire`), callbacks into the trusted
kernel through the kernel's stdin channel (``input_request``/``input_reply``).

Nothing here is trusted: the student's code can replace any of it. It only ever hurts the student's
own calls, because the trusted side checks every answer it receives (data only, bounded size) and
computes the verdict itself.
"""

from __future__ import annotations

import inspect
import linecache
import os
import sys
from typing import Any

from ch11lib.grading import wire

_STATE: dict[str, Any] = {"dir": "", "refs": {}, "calls": {}}


def _path(name: str) -> str:
    return os.path.join(_STATE["dir"], name)


def install(exchange_dir: str) -> None:
    _STATE["dir"] = exchange_dir


def record(names: list[str]) -> None:
    """After a locked (setup or helper) cell: remember the objects it bound, by name."""
    ns = wire.user_namespace()
    for name in names:
        if name in ns:
            _STATE["refs"][name] = ns[name]


def _refs() -> dict[int, str]:
    return {id(v): k for k, v in _STATE["refs"].items()}


def _exception(exc: BaseException) -> dict[str, Any]:
    kind = type(exc)
    return {"raise": [kind.__name__, kind.__module__, str(exc)[:4000]]}


def _source(value: Any) -> str:
    try:
        return inspect.getsource(value)
    except (OSError, TypeError):
        code = getattr(value, "__code__", None)
        if code is not None:
            return "".join(linecache.getlines(code.co_filename))
        return ""


def describe(names: list[str]) -> None:
    """Write what each name is here: missing, a function (with its source) or data."""
    ns = wire.user_namespace()
    out: dict[str, Any] = {}
    refs = _refs()
    for name in names:
        if name not in ns:
            out[name] = {"kind": "missing"}
            continue
        value = ns[name]
        if callable(value):
            out[name] = {
                "kind": "function",
                "qualname": str(getattr(value, "__qualname__", name)),
                "module": str(getattr(value, "__module__", "__main__")),
                "doc": getattr(value, "__doc__", None)
                if isinstance(getattr(value, "__doc__", None), str)
                else None,
                "source": _source(value),
            }
            continue
        try:
            out[name] = {"kind": "data", "value": wire.encode(value, refs)}
        except wire.WireError as exc:
            out[name] = {"kind": "opaque", "why": str(exc)}
    wire.dump(out, _path("out.pt"))


def _fingerprint(value: Any, depth: int = 0) -> Any:
    """Something that changes when ``value`` is changed in place (tensor versions, contents)."""
    import torch

    if depth > wire.MAX_DEPTH:
        return None
    if isinstance(value, torch.Tensor):
        return ("t", id(value), value._version)
    if isinstance(value, list | tuple | set | frozenset):
        return (type(value).__name__, id(value), tuple(_fingerprint(v, depth + 1) for v in value))
    if isinstance(value, dict):
        return (
            "d",
            id(value),
            tuple((repr(k), _fingerprint(v, depth + 1)) for k, v in value.items()),
        )
    if type(value).__name__ in ("Generator", "Random"):
        return ("g", id(value))
    return id(value)


def _has_generator(value: Any, depth: int = 0) -> bool:
    if depth > wire.MAX_DEPTH:
        return False
    if type(value).__name__ in ("Generator", "Random"):
        return True
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_generator(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_has_generator(v, depth + 1) for v in value.values())
    return False


def _callback(key: str, args: tuple, kwargs: dict) -> Any:
    """Call the trusted kernel's object ``key`` (a reference function a test swapped in, a library
    function a test switched off) with these arguments; return its result or raise its error."""
    try:
        payload = {"args": wire.encode(list(args), _refs()), "kwargs": wire.encode(kwargs, _refs())}
    except wire.WireError:
        payload = {"args": None, "kwargs": None}  # e.g. a module's `self`: the call is refused
    wire.dump({"key": key, **payload}, _path("cb-in.pt"))
    kernel = get_ipython().kernel  # type: ignore[name-defined]  # noqa: F821
    kernel.raw_input(f"ch11-callback {key}")
    reply = wire.load(_path("cb-out.pt"))
    if "raise" in reply:
        import builtins

        name, _module, message = reply["raise"]
        error = getattr(builtins, str(name), None)
        if not (isinstance(error, type) and issubclass(error, BaseException)):
            error = RuntimeError
        raise error(message)
    return wire.decode(reply["ok"], _STATE["refs"])


def _stub(key: str):
    def redirected(*args, **kwargs):
        return _callback(key, args, kwargs)

    return redirected


def _resolve(path: str) -> Any:
    """``torch.nn.functional`` or ``transformers.models.bert.modeling_bert.BertLayer``."""
    import importlib

    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:i]))
        if module is None and i <= len(parts) - 1 and parts[0] in ("ch11lib", "transformers"):
            try:  # switched off in the trusted kernel: switched off here even if not yet imported
                module = importlib.import_module(".".join(parts[:i]))
            except Exception:  # noqa: BLE001
                module = None
        if module is not None:
            value: Any = module
            for attr in parts[i:]:
                value = getattr(value, attr)
            return value
    raise LookupError(path)


def _redirect(plan: dict[str, Any], undo: list) -> None:
    ns = wire.user_namespace()
    for name in plan.get("globals", []):
        undo.append(("ns", name, ns.get(name, _redirect)))
        ns[name] = _stub(f"g:{name}")
    for key, owner_path, attribute in plan.get("patches", []):
        try:
            owner = _resolve(owner_path)
        except (LookupError, AttributeError):
            continue
        undo.append(("attr", owner, attribute, vars(owner).get(attribute, _redirect)))
        try:
            setattr(owner, attribute, _stub(key))
        except (AttributeError, TypeError):
            undo.pop()
    for key, path in plan.get("code", []):
        try:
            function = _resolve(path)
        except (LookupError, AttributeError):
            continue
        if getattr(function, "__code__", None) is None or function.__code__.co_freevars:
            continue
        stub_source = (
            "def _ch11_redirected(*args, **kwargs):\n"
            f"    return __import__('sys').modules['ch11lib.grading.agent']._callback({key!r}, args, kwargs)\n"
        )
        scope: dict[str, Any] = {}
        exec(compile(stub_source, "<ch11 redirect>", "exec"), scope)  # noqa: S102
        undo.append(("code", function, function.__code__))
        function.__code__ = scope["_ch11_redirected"].__code__


def _undo(undo: list) -> None:
    ns = wire.user_namespace()
    for entry in reversed(undo):
        if entry[0] == "ns":
            _, name, old = entry
            if old is _redirect:
                ns.pop(name, None)
            else:
                ns[name] = old
        elif entry[0] == "attr":
            _, owner, attribute, old = entry
            if old is _redirect:
                try:
                    delattr(owner, attribute)
                except AttributeError:
                    pass
            else:
                setattr(owner, attribute, old)
        else:
            _, function, code = entry
            function.__code__ = code


def call(name: str, call_id: int) -> None:
    """Run the student's ``name`` on the arguments in ``in.pt``; write the outcome to ``out.pt``."""
    import torch

    request = wire.load(_path("in.pt"))
    refs = _STATE["refs"]
    undo: list = []
    try:
        args = wire.decode(request["args"], refs)
        kwargs = wire.decode(request["kwargs"], refs)
        before = _fingerprint((args, kwargs))
        function = wire.user_namespace().get(name)
        if function is None:
            raise NameError(f"name {name!r} is not defined")
        _redirect(request.get("plan", {}), undo)
        try:
            with torch.enable_grad() if request.get("grad") else torch.no_grad():
                result = function(*args, **kwargs)
        finally:
            _undo(undo)
        reply: dict[str, Any] = {"ok": wire.encode(result, _refs())}
        if _fingerprint((args, kwargs)) != before or _has_generator((args, kwargs)):
            reply["args"] = wire.encode([args, kwargs], _refs())
        if request.get("grad"):
            inputs = [t for t in wire.tensors_in((args, kwargs)) if t.requires_grad]
            outputs = [t for t in wire.tensors_in(result) if t.requires_grad]
            if inputs and outputs:
                calls = _STATE["calls"]
                calls[call_id] = (inputs, outputs)
                for old in sorted(calls)[:-32]:
                    del calls[old]
    except KeyboardInterrupt:
        reply = {"raise": ["KeyboardInterrupt", "builtins", "interrupted"]}
    except BaseException as exc:  # noqa: BLE001  (the student's error goes back to the test)
        reply = _exception(exc)
    try:
        wire.dump(reply, _path("out.pt"))
    except wire.WireError as exc:
        wire.dump(_exception(exc), _path("out.pt"))
    except Exception as exc:  # noqa: BLE001
        wire.dump(_exception(exc), _path("out.pt"))


def vjp(call_id: int) -> None:
    """Gradients of an earlier call's inputs for the output gradients in ``in.pt``."""
    import torch

    try:
        inputs, outputs = _STATE["calls"][call_id]
        grads = wire.decode(wire.load(_path("in.pt"))["grads"])
        pairs = [(o, g) for o, g in zip(outputs, grads, strict=True) if g is not None]
        result = torch.autograd.grad(
            [o for o, _ in pairs],
            inputs,
            [g for _, g in pairs],
            allow_unused=True,
            retain_graph=True,
        )
        reply: dict[str, Any] = {"ok": wire.encode(list(result))}
    except BaseException as exc:  # noqa: BLE001
        reply = _exception(exc)
    wire.dump(reply, _path("out.pt"))

"""Attacks on IPython's machinery: the next cells (the tests, and any check the grader sends through
the same kernel) do not run, or their errors never reach the notebook.

Each is one cell; handed in with the release's (blank) answers, each scored 100/100 on the grader
of 2026-12-01 that ran the tests in the student's kernel.
"""

# Every later cell becomes `pass` (the grader's own silent checks too).
INPUT_TRANSFORMER = """
get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])
"""

# Every later cell's syntax tree is replaced by an empty module.
AST_TRANSFORMER = """
import ast as _ast


class _Hollow(_ast.NodeTransformer):
    def visit_Module(self, node):
        return _ast.fix_missing_locations(_ast.Module(body=[_ast.Pass()], type_ignores=[]))


get_ipython().ast_transformers.append(_Hollow())
"""

# The shell's run_cell / run_cell_async: every later cell "succeeds" without running.
RUN_CELL = """
from IPython.core.interactiveshell import ExecutionInfo as _Info, ExecutionResult as _Result

_shell = get_ipython()


def _fake_run_cell(raw_cell, store_history=False, silent=False, shell_futures=True, cell_id=None,
                   **kwargs):
    return _Result(_Info(raw_cell, store_history, silent, shell_futures, cell_id))


async def _fake_run_cell_async(raw_cell, store_history=False, silent=False, shell_futures=True,
                               cell_id=None, **kwargs):
    return _fake_run_cell(raw_cell, store_history, silent, shell_futures, cell_id)


_shell.run_cell = _fake_run_cell
_shell.run_cell_async = _fake_run_cell_async
"""

# run_code: the compiled code of every later cell is dropped, "no error".
RUN_CODE = """
async def _skip_code(code_obj, result=None, *, async_=False):
    return False


get_ipython().run_code = _skip_code
"""

# A custom exception handler for every exception type: the error message is addressed to no
# request, so the client never sees an error output.
CUSTOM_EXC = """
def _every(cls):
    found = {cls}
    for sub in cls.__subclasses__():
        found |= _every(sub)
    return found


def _misroute(shell, etype, value, tb, tb_offset=None):
    shell.displayhook.parent_header = {"msg_id": "nobody"}
    return ["Passed"]


get_ipython().set_custom_exc(tuple(_every(BaseException)), _misroute)
"""

# The traceback hook: errors are shown nowhere.
TRACEBACK_HOOK = """
import sys as _sys

_shell = get_ipython()
_shell._showtraceback = lambda etype, evalue, stb: None
_shell.showsyntaxerror = lambda *args, **kwargs: None
_sys.excepthook = lambda *args: None
"""

# The display/publish hook: the kernel's message sender drops errors and stderr.
DISPLAY_HOOK = """
_session = get_ipython().displayhook.session
_send = _session.send


def _filtered_send(stream, msg_or_type, content=None, *args, **kwargs):
    kind = msg_or_type if isinstance(msg_or_type, str) else msg_or_type["header"]["msg_type"]
    body = content if content is not None else getattr(msg_or_type, "get", dict)("content", {})
    if kind == "error" or (kind == "stream" and (body or {}).get("name") == "stderr"):
        return None
    return _send(stream, msg_or_type, content, *args, **kwargs)


_session.send = _filtered_send
"""

# Event callbacks: hollow out every visible (non-silent) cell, and put everything back right after
# it, so that checks the grader runs between cells find nothing changed.
EVENTS = """
import ast as _ast

_shell = get_ipython()


class _Hollow(_ast.NodeTransformer):
    def visit_Module(self, node):
        return _ast.fix_missing_locations(_ast.Module(body=[_ast.Pass()], type_ignores=[]))


_hollow = _Hollow()


def _before_cell(info):
    if _hollow not in _shell.ast_transformers:
        _shell.ast_transformers.append(_hollow)


def _after_cell(result):
    while _hollow in _shell.ast_transformers:
        _shell.ast_transformers.remove(_hollow)


_shell.events.register("pre_run_cell", _before_cell)
_shell.events.register("post_run_cell", _after_cell)
"""

# The compiler: later cells are compiled with optimize=2, so their `assert`s are gone (__debug__
# is False in them).
NO_ASSERTS = """
_compiler = get_ipython().compile


class _NoAsserts(type(_compiler)):
    def __call__(self, source, filename, symbol):
        return compile(source, filename, symbol, self.flags, True, optimize=2)


_compiler.__class__ = _NoAsserts
"""

BLANK_ATTACKS = {
    "input_transformer": INPUT_TRANSFORMER,
    "ast_transformer": AST_TRANSFORMER,
    "run_cell": RUN_CELL,
    "run_code": RUN_CODE,
    "custom_exc": CUSTOM_EXC,
    "traceback_hook": TRACEBACK_HOOK,
    "display_hook": DISPLAY_HOOK,
    "events": EVENTS,
}

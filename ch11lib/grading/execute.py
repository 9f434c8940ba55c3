"""``GuardedExecute``: nbgrader's ``Execute`` with two kernels, the student's one sandboxed.

Per notebook:

- the **student's kernel** runs in the sandbox (:mod:`ch11lib.grading.sandbox`; without it only if
  ``CH11_GRADE_UNSANDBOXED=1``) and executes the student's cells; their outputs (prints, plots,
  errors) land in those cells as usual;
- the **trusted kernel** is the one nbgrader starts (forked from the fork server by ``make
  autograde``); it executes the locked cells: setup, helpers, visible and hidden tests. Every name
  that the source notebook's solution cells bind at top level is a proxy there that calls into the
  student's kernel (:mod:`ch11lib.grading.proxy`), so the verdict is computed where the student's
  code cannot reach it;
- the locked cells that are not tests (setup and helpers) run in **both** kernels (in the student's
  one without their hidden parts, if any), so the model, the tokenizer and the helpers exist on both
  sides and objects built there can be passed by reference.

After each student cell, the processes that it started and left running are killed (the kernel
itself stays), and the trusted kernel's proxies are refreshed.
"""

from __future__ import annotations

import ast
import os
import re
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from ch11lib.grading import forkkernel, sandbox
from ch11lib.grading.cells import imported_roots, is_locked, is_test, parse, top_level_names

_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", flags=re.S)
MARKER = "GRADED_WITHOUT_SANDBOX.txt"


def student_names_from_gradebook(resources: dict[str, Any]) -> set[str] | None:
    """Top-level names of the *source* notebook's solution cells, from the gradebook."""
    info = resources.get("nbgrader", {})
    db_url, assignment, notebook = info.get("db_url"), info.get("assignment"), info.get("notebook")
    if not (db_url and assignment and notebook):
        return None
    from nbgrader.api import Gradebook, MissingEntry

    try:
        with Gradebook(db_url) as gradebook:
            nb = gradebook.find_notebook(notebook, assignment)
            names: set[str] = set()
            for cell in nb.solution_cells:
                source = gradebook.find_source_cell(cell.name, notebook, assignment).source
                names |= top_level_names(source or "")
            return names
    except MissingEntry:
        return None


def locked_imports(cells: list[NotebookNode]) -> list[str]:
    """Modules the locked cells import, full dotted names, in order (preloaded by servers)."""
    modules: list[str] = []
    for cell in cells:
        if not is_locked(cell):
            continue
        tree = parse(cell.source)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.append(node.module)
                modules += [f"{node.module}.{a.name}" for a in node.names]
    return list(dict.fromkeys(["ch11lib.grading.agent", *modules]))


def student_kernel_manager(folder: Path, connection: Path, manager_class: Any = None) -> Any:
    """A kernel manager for a student's kernel: ZeroMQ over ``ipc`` sockets in ``folder``, started
    by the fork launcher (from the sandbox's kernel server when its environment names one)."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpec

    km = (manager_class or KernelManager)(
        transport="ipc", ip=str(folder / "sock" / "s"), connection_file=str(connection)
    )
    km._kernel_spec = KernelSpec(
        argv=[sys.executable, forkkernel.__file__, "-f", "{connection_file}"],
        display_name="student",
        language="python",
        interrupt_mode="message",
    )
    return km


def _error(ename: str, message: str) -> NotebookNode:
    return NotebookNode(
        output_type="error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"]
    )


class GuardedExecute(Execute):
    """nbgrader's ``Execute``: student cells in a sandboxed kernel, locked cells in a trusted one.

    See the module docstring. ``nbgrader_config.py`` installs it in place of ``Execute``.
    """

    sandbox = Bool(
        True,
        help="run the student's cells in the bubblewrap sandbox (CH11_GRADE_UNSANDBOXED=1 "
        "switches it off too; then the grading log and the class report say so)",
    ).tag(config=True)
    student_startup_timeout = Integer(
        300, help="seconds the student's kernel may take to start"
    ).tag(config=True)
    max_message_bytes = Integer(
        256 * 1024 * 1024, help="largest result (or argument) one call may send, in bytes"
    ).tag(config=True)

    # ---------------------------------------------------------------------------------------------
    # The student's kernel
    # ---------------------------------------------------------------------------------------------

    def _sandboxed(self) -> bool:
        return self.sandbox and not sandbox.unsandboxed()

    def _start_student(self, nb: NotebookNode, resources: dict[str, Any]) -> None:
        from jupyter_client import AsyncKernelManager, BlockingKernelClient
        from jupyter_core.utils import run_sync

        path = Path((resources.get("metadata") or {}).get("path") or ".").resolve()
        self._student_dead = ""
        self._student_pid = 0
        self._box = None
        self._slot = None
        self._private = None
        if self._sandboxed():
            box = sandbox.shared_sandbox(locked_imports(nb.cells))
            self._box = box
            self._slot = box.new_kernel(path)
            folder, connection, env = self._slot.folder, self._slot.connection_file, self._slot.env
            env = {**os.environ, **env}
        else:
            self._private = Path(tempfile.mkdtemp(prefix="ch11-student-"))
            folder = self._private / "exchange"
            (folder / "sock").mkdir(parents=True)
            work = self._private / "work"
            shutil.copytree(
                path, work, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints")
            )
            for name in ("in.pt", "out.pt", "cb-in.pt", "cb-out.pt"):
                (folder / name).touch()
            connection = folder / "kernel.json"
            env = dict(os.environ)
            env.pop(forkkernel.SANDBOX_ENV, None)
        self._exchange = folder
        km = student_kernel_manager(folder, connection, AsyncKernelManager)
        cwd = str(self._private / "work") if self._private else str(folder)
        run_sync(km.start_kernel)(
            env=env, cwd=cwd, extra_arguments=["--HistoryManager.hist_file=:memory:"]
        )
        self._skm = km
        self._skc = km.client()
        self._skc.start_channels()
        run_sync(self._skc.wait_for_ready)(timeout=self.student_startup_timeout)
        self._sbc = BlockingKernelClient(connection_file=str(connection))
        self._sbc.load_connection_file()
        self._sbc.start_channels()
        reply = self._student_silent(
            f"__import__('ch11lib.grading.agent', fromlist=['install']).install({str(folder)!r})",
            user_expressions={"pid": "__import__('os').getpid()"},
        )
        try:
            self._student_pid = int(reply["user_expressions"]["pid"]["data"]["text/plain"])
        except (KeyError, TypeError, ValueError):
            self._student_pid = 0
        if self._box is not None and self._slot is not None:
            self._box.seal(self._slot)

    def _stop_student(self) -> None:
        from jupyter_core.utils import run_sync

        for client in (getattr(self, "_sbc", None), getattr(self, "_skc", None)):
            if client is not None:
                try:
                    client.stop_channels()
                except Exception:  # noqa: BLE001,S110
                    pass
        km = getattr(self, "_skm", None)
        if km is not None:
            try:
                run_sync(km.shutdown_kernel)(now=True)
            except Exception:  # noqa: BLE001,S110
                pass
            try:
                run_sync(km.cleanup_resources)()
            except Exception:  # noqa: BLE001,S110
                pass
        if getattr(self, "_box", None) is not None and self._slot is not None:
            self._box.release(self._slot)
            if not self._box.as_root:  # no uid of its own: a fresh sandbox per submission
                self._box.close()
        if getattr(self, "_private", None) is not None:
            shutil.rmtree(self._private, ignore_errors=True)
        self._skm = self._skc = self._sbc = None

    def _student_silent(
        self, code: str, timeout: float | None = 60, user_expressions: dict | None = None
    ) -> dict[str, Any]:
        """Run code in the student's kernel without output; its reply's content ({} if none)."""
        if self._student_dead or self._sbc is None:
            return {}
        msg_id = self._sbc.execute(
            code,
            silent=True,
            store_history=False,
            allow_stdin=False,
            user_expressions=user_expressions or {},
        )
        return self._student_reply(msg_id, timeout)

    def _student_reply(self, msg_id: str, timeout: float | None) -> dict[str, Any]:
        import queue
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                msg = self._sbc.get_shell_msg(timeout=min(left or 5.0, 5.0))
            except queue.Empty:
                if not self._sbc.is_alive():
                    self._student_dead = "the student's kernel died"
                    return {}
                if deadline is not None and time.monotonic() >= deadline:
                    return {}
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]

    # ---------------------------------------------------------------------------------------------
    # The trusted kernel
    # ---------------------------------------------------------------------------------------------

    def _silent(self, code: str) -> str:
        """Run ``code`` in the trusted kernel without output or history; '' or its error."""
        assert self.kc is not None
        reply = self.wait_for_reply(
            self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        )
        content = (reply or {}).get("content", {})
        if content.get("status") == "ok":
            return ""
        return (
            f"{content.get('ename', 'Error')}: {content.get('evalue', 'no reply from the kernel')}"
        )

    def _proxy(self, call: str) -> str:
        return self._silent(f"__import__('sys').modules['ch11lib.grading.proxy'].{call}")

    # ---------------------------------------------------------------------------------------------
    # nbgrader's hooks
    # ---------------------------------------------------------------------------------------------

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None):  # type: ignore[override]
        resources = resources or {}
        names = student_names_from_gradebook(resources)
        if names is None:  # no gradebook (nbconvert alone): what the submitted answers bind
            names = set().union(
                set(),
                *(
                    top_level_names(c.source)
                    for c in nb.cells
                    if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                ),
            )
        self._names = sorted(names)
        self._trusted_kc: Any = None
        self._trusted_error = ""
        self._key = secrets.token_hex(4)
        path = Path((resources.get("metadata") or {}).get("path") or ".")
        if not self._sandboxed():
            self.log.warning(sandbox.UNSANDBOXED_WARNING)
            try:
                (path / MARKER).write_text(sandbox.UNSANDBOXED_WARNING + "\n", encoding="utf-8")
            except OSError:
                pass
        else:
            try:
                (path / MARKER).unlink()
            except OSError:
                pass
            try:
                _check_once()
            except sandbox.SandboxUnavailable as exc:
                self.log.critical("%s", exc)
                raise SystemExit(f"grading stopped: {exc}") from None
        self._start_student(nb, resources)
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self._stop_student()

    def _install_trusted(self) -> None:
        self._trusted_kc = self.kc
        code = (
            "__import__('ch11lib.grading.proxy', fromlist=['install']).install("
            f"{str(self._exchange / 'kernel.json')!r}, {str(self._exchange)!r}, "
            f"{self._names!r}, {int(self.max_message_bytes)})"
        )
        self._trusted_error = self._silent(code)
        if self._trusted_error:
            self.log.error("could not connect the trusted kernel: %s", self._trusted_error)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):  # type: ignore[override]
        if cell.cell_type != "code":
            return super().preprocess_cell(cell, resources, index)
        if self._trusted_kc is not self.kc:  # a new trusted kernel (first code cell)
            self._install_trusted()
        if is_locked(cell):
            if is_test(cell):
                if self._trusted_error:
                    cell.outputs = [_error("GraderError", self._trusted_error)]
                    cell.execution_count = None
                    return cell, self.resources
                return super().preprocess_cell(cell, resources, index)
            return self._run_in_both(cell, resources, index)
        return self._run_student(cell, resources, index)

    def _run_in_both(self, cell: NotebookNode, resources: Any, index: int):
        names = sorted(top_level_names(cell.source))
        msg_id = None
        if not self._student_dead and self._sbc is not None:
            msg_id = self._sbc.execute(
                _HIDDEN.sub("", cell.source), silent=True, store_history=False, allow_stdin=False
            )
        cell, resources = super().preprocess_cell(cell, resources, index)
        if msg_id is not None:
            self._student_reply(msg_id, self.timeout)
            self._student_silent(
                f"__import__('ch11lib.grading.agent', fromlist=['record']).record({names!r})"
            )
        self._proxy(f"record({names!r})")
        return cell, resources

    def _run_student(self, cell: NotebookNode, resources: Any, index: int):
        from nbclient.exceptions import DeadKernelError

        if self._student_dead:
            cell.outputs = [_error("DeadKernelError", self._student_dead)]
            cell.execution_count = None
            return cell, self.resources
        trusted = (self.km, self.kc)
        self.km, self.kc = self._skm, self._skc
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._student_dead = "your kernel died while this cell ran"
            cell.outputs.append(_error("DeadKernelError", self._student_dead))
        finally:
            self.km, self.kc = trusted
        if self._box is not None and self._student_pid:
            self._box.reap(self._student_pid, self._slot.uid if self._slot else None)
        if not self._trusted_error:
            problem = self._proxy("refresh()")
            if problem:
                self.log.warning("could not refresh the student's names: %s", problem)
        return cell, resources


_CHECKED: dict[str, bool] = {}


def _check_once() -> None:
    if not _CHECKED.get("ok"):
        sandbox.check()
        _CHECKED["ok"] = True


def marked_unsandboxed(course: Path, assignment: str) -> list[str]:
    """Students whose autograded notebook of ``assignment`` was graded without the sandbox."""
    return sorted(
        p.parent.parent.name for p in Path(course).glob(f"autograded/*/{assignment}/{MARKER}")
    )


def nb_read(path: Path) -> NotebookNode:
    return nbformat.read(path, as_version=4)


__all__ = ["GuardedExecute", "top_level_names", "locked_imports", "imported_roots"]

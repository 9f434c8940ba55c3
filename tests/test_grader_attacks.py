"""Attacks on the grader: a submission's code must not raise its grade or reach the grading host.

One class of a1_encoder is autograded through the fast path (``ch11lib.grading``, or the older
``ch11lib.autograde``) with the network blocked, one submission of a3-a5 each (a different kernel
attack per assignment), and an a2 attack (beside the reference) through plain ``nbgrader
autograde``. The submissions
are built from the release (blank answers), wrong answers (``tests/mutants``) or the reference
answers, plus the attacks of ``tests/attacks/``:

``kernel_*``    IPython's machinery (input and AST transformers, event callbacks; ``run_cell``/
                ``run_cell_async``, ``run_code``, a custom exception handler, traceback and display
                hooks), with blank answers;
``tamper_wrong`` wrong answers plus ``sys.settrace``, ``ctypes`` rewiring ``torch.allclose`` in
                place, helpers changed in place (``__code__``, bound defaults), a compiler without
                ``assert``s, and comparisons patched when an answer is called, put back after the cell;
``interp_*``    ``gc`` and frames to reach the tests' hidden reference functions;
``output_*``    printing what passing looks like (fake results, "Passed", fake output messages);
``result_*``    answers returning a tensor subclass that agrees with every comparison, or a 1.5 GB
                tensor and a list nested 100,000 deep;
``host_*``      reference answers plus probes of the host: reading instructor files and secrets
                (directly, and through links handed in with the notebook), writing outside its
                folder (the gradebook included), symbolic links, loopback TCP/UDP/Unix sockets, the
                grader's own sockets, child processes that outlive the cell or reach the next
                submission, the disk, memory (one process, and spread over four), a fork bomb,
                killing its own kernel (blank) or exiting after the last test, an IPython startup
                file handed in with the notebook.

Several attacks of one class share one submission (a class's attacks in its first answer cell) to
keep the batch small; each was also run alone while the suite was written.

For every class: (i) an attack with blank or wrong answers gains no point over what its answers earn
(``nbgrader_harness.grade_in_process`` of the same answers without the attack); (ii) the reference
answers with the probes keep 100, and the host shows no trace (no file, process, connection, secret in
any output); (iii) every student is graded and has a row in the export.

The memory and fork-bomb probes run only where they cannot see the host (``tests/attacks/host.py``):
without a sandbox they refuse, and their tests fail instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import re
import secrets
import signal
import socket
import sysconfig
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import netblock
import pytest
from attacks import cell, host, interpreter, kernel, output, patching, results
from nbgrader_harness import (
    REPO_ROOT,
    Course,
    autograded_points,
    grade_in_process,
    graded_cells,
    solution_cells,
    source_md,
    submission_replacements,
)

import ch11lib

try:  # the grading subpackage; before it, ch11lib.course
    from ch11lib.grading.cli import hidden_test_lines, html_text, leaks
except ImportError:
    from ch11lib.course import hidden_test_lines, html_text, leaks

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("nbgrader-attacks")]

CELL_TIMEOUT_S = int(os.environ.get("CH11_ATTACK_TIMEOUT", "30"))
MEMORY_LIMIT_BYTES = 5 << 30  # the memory probe must be stopped below this
A1 = "a1_encoder"
PLAIN = ("a2_mlm", "input_transformer")  # graded by plain `nbgrader autograde`
OTHERS = {  # one kernel attack per other assignment, blank answers, through the fast path
    "a3_nsp_spans": "run_code",
    "a4_representations": "display_hook",
    "a5_finetuning": "custom_exc",
}


def fast_autograde() -> Callable[..., object]:
    """The fast path's ``autograde(course, assignment, *, submissions, jobs, timeout)``: the grading
    subpackage's if there is one, else the older ``ch11lib.autograde``."""
    for name in ("ch11lib.grading.batch", "ch11lib.grading", "ch11lib.autograde"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        function = getattr(module, "autograde", None)
        if callable(function):
            return function
    raise ImportError("no autograde function in ch11lib.grading or ch11lib.autograde")


# --------------------------------------------------------------------------------------------------
# The host side: canaries, servers, traces
# --------------------------------------------------------------------------------------------------


@dataclass
class Host:
    """What the attacks are told (``params``), what they must not find (``secrets``), and the
    servers that record every connection made to them."""

    root: Path
    token: str = field(default_factory=lambda: secrets.token_hex(6))
    secrets: dict[str, str] = field(default_factory=dict)
    canaries: list[Path] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    victim: Path | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _sockets: list[socket.socket] = field(default_factory=list)

    def secret(self, label: str) -> str:
        self.secrets[label] = f"SECRET-{label}-{secrets.token_hex(8)}"
        return self.secrets[label]

    def plant(self, path: Path, label: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.secret(label) + "\n", encoding="utf-8")
        self.canaries.append(path)

    def start_servers(self) -> dict[str, object]:
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(16)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        abstract = f"ch11-attack-{self.token}"
        unix_abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix_abstract.bind("\0" + abstract)
        unix_abstract.listen(16)
        unix_path = self.root / "server.sock"
        unix_file = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix_file.bind(str(unix_path))
        unix_file.listen(16)
        self._sockets = [tcp, udp, unix_abstract, unix_file]
        labels = {tcp: "tcp", udp: "udp", unix_abstract: "abstract unix", unix_file: "unix file"}
        for server in self._sockets:
            server.settimeout(0.2)
        threading.Thread(target=self._serve, args=(labels,), daemon=True).start()
        return {
            "tcp_port": tcp.getsockname()[1],
            "udp_port": udp.getsockname()[1],
            "abstract": abstract,
            "unix_path": str(unix_path),
        }

    def _serve(self, labels: dict[socket.socket, str]) -> None:
        import select

        while not self._stop.is_set():
            ready, _, _ = select.select(list(labels), [], [], 0.2)
            for server in ready:
                try:
                    if server.type == socket.SOCK_DGRAM:
                        data = server.recv(1000)
                    else:
                        connection, _ = server.accept()
                        connection.settimeout(1)
                        data = connection.recv(1000)
                        connection.close()
                except OSError:
                    continue
                self.received.append(f"{labels[server]}: {data[:60]!r}")

    def stop(self) -> None:
        self._stop.set()
        for server in self._sockets:
            server.close()

    def traces(self, course: Path) -> list[Path]:
        """Files the attacks wrote outside a student's folder (``pwned-*``) or left (``fill-*``)."""
        names = (f"pwned-{self.token}", f"fill-{self.token}")
        found: list[Path] = []
        roots = [
            course,
            Path(ch11lib.__file__).parent,
            Path(sysconfig.get_paths()["purelib"]),
            Path.home(),
            Path("/tmp"),
            Path("/var/tmp"),
            Path("/dev/shm"),
            Path("/"),
        ]
        for top in roots:
            depth0 = len(top.parts)
            for folder, dirs, files in os.walk(top):
                here = Path(folder)
                if len(here.parts) - depth0 >= (1 if top in (Path("/"), Path.home()) else 6):
                    dirs.clear()
                found += [here / f for f in files if f.startswith(names)]
        return sorted(set(found))

    def processes(self) -> dict[int, str]:
        """Processes whose command line carries the token (the attacks' children)."""
        left = {}
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if self.token in cmdline and "pytest" not in cmdline:
                left[int(proc.name)] = cmdline[:200]
        return left

    def clean_up(self, course: Path) -> None:
        for pid in self.processes():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for path in self.traces(course):
            with contextlib.suppress(OSError):
                path.unlink()
        for path in self.canaries:
            with contextlib.suppress(OSError):
                path.unlink()
            if path.parent.name == f"ch11-attack-{self.token}":
                with contextlib.suppress(OSError):
                    path.parent.rmdir()


# --------------------------------------------------------------------------------------------------
# Submissions
# --------------------------------------------------------------------------------------------------


def _grade_id(c: nbformat.NotebookNode) -> str | None:
    return c.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _wrong_answers(name: str) -> dict[str, str]:
    path = REPO_ROOT / "tests" / "mutants" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"attack_mutants_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(next(iter(module.WRONG.values())))


def _notebook(
    release: nbformat.NotebookNode,
    answers: dict[str, str] | None = None,
    first: str = "",
    every: str = "",
    end: tuple[str, ...] = (),
) -> nbformat.NotebookNode:
    """The release with ``answers`` in its solution cells, ``first`` put before the first answer's
    code, ``every`` after each answer's code, and ``end`` as new cells at the end."""
    nb = nbformat.from_dict(release)
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)  # a deep copy
    ids = [g for g in (_grade_id(c) for c in nb.cells) if g]
    answer_cells = [
        c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    ]
    assert answer_cells, ids
    for c in answer_cells:
        if answers and _grade_id(c) in answers:
            c.source = answers[_grade_id(c)]
        if every:
            c.source = c.source + "\n\n" + every
    if first:
        answer_cells[0].source = first + "\n\n" + answer_cells[0].source
    nb.cells += [nbformat.v4.new_code_cell(source) for source in end]
    return nb


@dataclass
class Student:
    notebook: nbformat.NotebookNode
    expected: dict[str, float] | None  # per test; None: the reference answers' full marks
    what: str  # the attack class, for the report
    # files handed in next to the notebook: text, or a Path for a symbolic link to it
    files: dict[str, str | Path] = field(default_factory=dict)


@dataclass
class Batch:
    course: Course
    assignment: str
    host: Host
    students: dict[str, Student]
    result: object
    netlog: Path
    config_hash: str


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _params(host_: Host, course: Course, assignment: str, extra: dict) -> dict:
    return {
        "token": host_.token,
        "course_root": str(course.root),
        "package_dir": str(Path(ch11lib.__file__).parent),
        "site_packages": sysconfig.get_paths()["purelib"],
        "home": str(Path.home()),
        "canaries": [str(p) for p in host_.canaries],
        "host_init": Path("/proc/1/cmdline").read_bytes().decode(errors="replace"),
        "notebook": f"{assignment}.ipynb",
        "source_notebook": str(course.root / "solutions" / assignment / f"{assignment}.ipynb"),
        "victim": str(host_.victim),
        **extra,
    }


def _a1_students(course: Course, host_: Host, servers: dict) -> dict[str, Student]:
    source, release = course.source_notebook(A1), course.release_notebook(A1)
    right = submission_replacements(source)
    wrong = {**right, **_wrong_answers(A1)}
    first = solution_cells(source)[0]
    params = _params(host_, course, A1, servers)
    zero = dict.fromkeys(graded_cells(source), 0.0)

    def oracle(answers: dict[str, str]) -> dict[str, float]:
        return grade_in_process(source_md(A1), answers, cell_timeout=None).verdicts()

    with_wrong = oracle(wrong)
    assert sum(with_wrong.values()) < autograded_points(A1), "the wrong answers get full marks"
    students: dict[str, Student] = {}
    # one student per class; the attacks of a class together in its first answer cell
    transformers = (kernel.AST_TRANSFORMER, kernel.EVENTS, kernel.INPUT_TRANSFORMER)
    students["kernel_transformers"] = Student(
        _notebook(release, first=cell("\n".join(transformers))), zero, "kernel"
    )
    shell = (
        kernel.CUSTOM_EXC,
        kernel.TRACEBACK_HOOK,
        kernel.DISPLAY_HOOK,
        kernel.RUN_CODE,
        kernel.RUN_CELL,
    )
    students["kernel_shell"] = Student(
        _notebook(release, first=cell("\n".join(shell))), zero, "kernel"
    )
    names = sorted({n for g in solution_cells(source) for n in _defined(right[g])})
    tamper = (interpreter.SETTRACE, interpreter.CTYPES, patching.IN_PLACE, kernel.NO_ASSERTS)
    students["tamper_wrong"] = Student(
        _notebook(
            release,
            wrong,
            first=cell("\n".join(tamper)),
            every=cell(patching.CALL_TIME, {"answers": names}),
        ),
        with_wrong,
        "interpreter, module patching",
    )
    students["interp_gc_frames"] = Student(
        _notebook(release, {first: cell(interpreter.STEAL_A1)}), zero, "interpreter"
    )
    students["output_imitation"] = Student(
        _notebook(release, first=cell(output.IMITATION)), zero, "imitation"
    )
    evil = {first: "EVIL = True\n" + results.EVIL_TENSOR_A1}
    students["result_tensor_subclass"] = Student(
        _notebook(release, evil),
        oracle({first: "EVIL = False\n" + results.EVIL_TENSOR_A1}),
        "odd results",
    )
    huge_cells = {"layer_norm": results.HUGE_A1, "feed_forward": results.HUGE_A1}
    nothing = {
        "layer_norm": "def layer_norm(x, gamma, beta, eps=1e-12):\n    return None\n",
        "feed_forward": "def feed_forward(x, p):\n    return None\n",
    }
    students["result_huge"] = Student(
        _notebook(release, {**right, **huge_cells}), oracle({**right, **nothing}), "odd results"
    )
    probe = {**params}
    students["host_files"] = Student(
        _notebook(
            release,
            right,
            end=tuple(
                cell(c, probe) for c in (host.READ, host.WRITE, host.SYMLINKS, host.GRADEBOOK)
            ),
        ),
        None,
        "files",
    )
    students["host_network"] = Student(
        _notebook(release, right, end=(cell(host.NETWORK, probe), cell(host.IPC, probe))),
        None,
        "network",
    )
    students["host_processes"] = Student(
        _notebook(
            release,
            right,
            end=tuple(
                cell(c, probe)
                for c in (host.PROCESSES, host.DISK, host.MEMORY, host.MEMORY_SPREAD, host.RUNNER)
            ),
        ),
        None,
        "processes, disk, memory",
    )
    students["host_fork_bomb"] = Student(
        _notebook(release, right, end=(cell(host.FORK_BOMB, probe), cell(host.EXIT))),
        None,
        "fork bomb, killing its kernel",
    )
    victim = _notebook(release, first=cell(host.KILL_SELF))
    victim.cells.insert(0, nbformat.v4.new_markdown_cell(host_.secret("classmate")))
    students["host_kill_blank"] = Student(victim, zero, "killing its kernel")
    # graded after host_files and host_processes (alphabetical order): finds what they left
    students["host_startup"] = Student(
        _notebook(release, end=(cell(host.WITNESS, probe),)), zero, "startup files, leftovers"
    )
    # files handed in with the notebook: links to the instructor's files (a tar or zip of
    # submissions can hold links), and an IPython startup file in the student's home
    students["host_files"].files = {
        "notes.dat": host_.canaries[0],
        "more_notes.dat": host_.canaries[1],
        "grades.dat": course.root / "gradebook.db",
        "solution.dat": course.root / "solutions" / A1 / f"{A1}.ipynb",
    }
    startup = ".ipython/profile_default/startup/00-attack.ipy"
    students["host_startup"].files = {startup: cell(host.STARTUP_IPY, probe)}
    return students


def _defined(source: str) -> set[str]:
    import ast

    return {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}


def _hand_in(root: Path, assignment: str, students: dict[str, Student]) -> Path:
    incoming = root / "incoming"
    for student, submission in students.items():
        folder = incoming / student
        folder.mkdir(parents=True)
        nbformat.write(submission.notebook, folder / f"{assignment}.ipynb")
        for name, content in submission.files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                path.symlink_to(content)
            else:
                path.write_text(content, encoding="utf-8")
    return incoming


@contextlib.contextmanager
def _grading_env(root: Path, host_: Host) -> Iterator[Path]:
    netlog = root / "network.log"
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in netblock.blocker_env(root / "site", netlog).items():
            patch.setenv(variable, value)
        patch.setenv("CH11_ATTACK_SECRET", host_.secret("environment"))
        patch.setenv("CH11_ATTACK_RUN", host_.token)
        yield netlog


def _build(root: Path, assignment: str, hosts: list[tuple[Host, Path]]) -> Batch:
    course = Course.create(root / "course", [assignment])
    course.generate(assignment)
    host_ = Host(root)
    hosts.append((host_, course.root))  # cleaned up whatever happens
    host_.plant(Path.home() / f".ch11-attack-{host_.token}", "home")
    host_.plant(Path("/tmp") / f"ch11-attack-{host_.token}" / "notes.txt", "tmp")
    host_.plant(course.root / f"instructor-notes-{host_.token}.txt", "course")
    host_.victim = root / "victim.txt"
    host_.victim.write_text("the victim's own content\n", encoding="utf-8")
    servers = host_.start_servers()
    if assignment == A1:
        students = _a1_students(course, host_, servers)
    else:
        release = course.release_notebook(assignment)
        attack = kernel.BLANK_ATTACKS[OTHERS[assignment]]
        zero = dict.fromkeys(graded_cells(course.source_notebook(assignment)), 0.0)
        students = {
            f"kernel_{OTHERS[assignment]}": Student(
                _notebook(release, first=cell(attack)), zero, "kernel"
            )
        }
    incoming = _hand_in(root, assignment, students)
    config_hash = _hash(course.root / "nbgrader_config.py")
    timeout = CELL_TIMEOUT_S
    try:
        with _grading_env(root, host_) as netlog:
            result = fast_autograde()(
                course.root, assignment, submissions=incoming, jobs=1, timeout=timeout
            )
            if assignment == A1:  # a failure here shows in the tests that read the feedback
                course.run("generate_feedback", assignment, "--force", check=False)
    finally:
        host_.stop()
    return Batch(course, assignment, host_, students, result, netlog, config_hash)


@pytest.fixture(scope="module")
def hosts() -> Iterator[list[tuple[Host, Path]]]:
    """Every host set up by this module; its traces (files, processes, canaries) go at the end."""
    made: list[tuple[Host, Path]] = []
    yield made
    for host_, course in made:
        host_.clean_up(course)


@pytest.fixture(scope="module")
def batches() -> dict[str, Batch]:
    return {}


@pytest.fixture
def a1(batches: dict[str, Batch], hosts: list, tmp_path_factory: pytest.TempPathFactory) -> Batch:
    if A1 not in batches:
        try:
            batches[A1] = _build(tmp_path_factory.mktemp("attacks-a1"), A1, hosts)
        except Exception as exc:  # built once: the other tests fail at once with the same error
            batches[A1] = exc  # type: ignore[assignment]
    if isinstance(batches[A1], Exception):
        raise batches[A1]
    return batches[A1]


# --------------------------------------------------------------------------------------------------
# Reading the results
# --------------------------------------------------------------------------------------------------


def _outputs_text(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for c in notebook.cells:
        for out in c.get("outputs", []):
            parts.append(str(out.get("text", "")))
            parts += [str(v) for v in out.get("data", {}).values()]
            parts += [str(out.get("evalue", "")), *map(str, out.get("traceback", []))]
    return "\n".join(parts)


def _printed(batch: Batch, student: str) -> str:
    path = batch.course.root / "autograded" / student / batch.assignment
    notebook = path / f"{batch.assignment}.ipynb"
    if notebook.is_symlink() or not notebook.is_file():
        return ""
    return _outputs_text(nbformat.read(notebook, as_version=4))


def _gains(batch: Batch) -> dict[str, dict[str, tuple[float, float]]]:
    scores = batch.course.scores(batch.assignment)
    gains = {}
    for student, s in batch.students.items():
        if s.expected is None:
            continue
        got = scores.get(student, {})
        more = {g: (got[g], want) for g, want in s.expected.items() if got.get(g, 0) > want}
        if more:
            gains[student] = more
    return gains


# --------------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------------


def test_no_attack_gains_points(a1: Batch) -> None:
    gains = _gains(a1)
    report = {s: f"{sum(g for g, _ in v.values()):g} points too many" for s, v in gains.items()}
    assert not gains, f"attacks that raised their grade: {report}\n{gains}"


def test_probes_keep_full_marks_and_every_student_has_a_row(a1: Batch) -> None:
    totals = a1.course.totals(A1)
    rows = {r["student_id"] for r in a1.course.export_csv() if r["assignment"] == A1}
    assert rows == set(a1.students), sorted(set(a1.students) ^ rows)
    probes = [s for s, st in a1.students.items() if st.expected is None]
    top = a1.course.autograded_points(A1)
    short = {s: totals.get(s) for s in probes if totals.get(s) != top}
    assert not short, f"reference answers with a probe lost marks: {short}"


def test_no_secret_or_hidden_test_is_printed(a1: Batch) -> None:
    hidden = hidden_test_lines(a1.course.source_notebook(A1))
    assert hidden
    found = {}
    for student in a1.students:
        text = _printed(a1, student)
        feedback = a1.course.root / "feedback" / student / A1 / f"{A1}.html"
        if feedback.is_file():
            text += "\n" + html_text(feedback.read_text(encoding="utf-8"))
        labels = [label for label, secret in a1.host.secrets.items() if secret in text]
        if student == "host_kill_blank":  # its own notebook carries this one
            labels = [label for label in labels if label != "classmate"]
        lines = leaks(text, hidden)
        if labels or lines:
            found[student] = (labels, lines[:2])
    assert not found, f"secrets or hidden tests in what a submission printed: {found}"


def test_nothing_written_outside_its_folder(a1: Batch) -> None:
    own = a1.course.root / "autograded" / "host_files"
    written = [p for p in a1.host.traces(a1.course.root) if own not in p.parents]
    written = [p for p in written if p.name.startswith("pwned-")]
    assert not written, f"files written by the submission outside its folder: {written}"
    assert _hash(a1.course.root / "nbgrader_config.py") == a1.config_hash


def test_gradebook_and_sources_unchanged(a1: Batch) -> None:
    from nbgrader.api import Gradebook

    source = a1.course.source_notebook(A1)
    tests = {_grade_id(c): c.source for c in source.cells if _grade_id(c) in graded_cells(source)}
    with Gradebook(a1.course.db_url) as gb:
        stored = {g: gb.find_source_cell(g, A1, A1).source for g in tests}
    changed = [g for g in tests if stored[g] != tests[g]]
    assert not changed, f"test sources in the gradebook were changed during grading: {changed}"


def test_symlinks_lead_nowhere(a1: Batch) -> None:
    assert a1.host.victim is not None
    assert a1.host.victim.read_text(encoding="utf-8") == "the victim's own content\n", (
        "the grader wrote through a link the submission made"
    )
    folder = a1.course.root / "autograded" / "host_files"
    links = [p for p in folder.rglob("*") if p.is_symlink()]
    assert not links, f"links made by the submission reached the autograded folder: {links}"


def test_no_connection_reaches_the_host(a1: Batch) -> None:
    assert not a1.host.received, (
        f"the submission connected to servers on the host: {a1.host.received}"
    )
    attempts = netblock.read_log(a1.netlog)
    assert not attempts, f"grading tried to reach the network:\n{attempts[:1000]}"
    printed = _printed(a1, "host_network")
    seen = re.findall(r"SEEN connection file (\S+)", printed)
    assert not seen, f"the submission could see other kernels' connection files: {seen[:5]}"


def test_no_process_outlives_grading(a1: Batch) -> None:
    left = a1.host.processes()
    assert not left, f"processes started by submissions still run after grading: {left}"


def test_memory_is_limited(a1: Batch) -> None:
    printed = _printed(a1, "host_processes")
    assert "MEM not run" not in printed, re.findall(r"MEM not run.*", printed)
    reached = [int(m) << 20 for m in re.findall(r"MEM (\d+) MiB", printed)]
    assert max(reached, default=0) < MEMORY_LIMIT_BYTES, (
        f"allocated {max(reached) >> 20} MiB without being stopped"
    )
    assert "SPAWNED" in printed, "the processes probe did not run"


def test_memory_is_limited_across_processes(a1: Batch) -> None:
    printed = _printed(a1, "host_processes")
    assert "SPREAD not run" not in printed, re.findall(r"SPREAD not run.*", printed)
    held = re.findall(r"SPREAD (\d+) MiB", printed)
    assert held, f"the spread probe did not report: {printed[-500:]}"
    assert int(held[0]) << 20 < MEMORY_LIMIT_BYTES, (
        f"four processes held {held[0]} MiB together: the memory limit is per process"
    )


def test_nothing_left_for_the_next_submission(a1: Batch) -> None:
    printed = _printed(a1, "host_processes")
    assert "RUNNER started" in printed, re.findall(r"RUNNER not run.*", printed) or printed[-300:]
    seen = re.findall(r"SEEN .*", _printed(a1, "host_startup"))
    assert not seen, f"the next submission found what host_processes left: {seen[:5]}"


def test_fork_bomb_is_bounded(a1: Batch) -> None:
    printed = _printed(a1, "host_fork_bomb")
    assert "BOMB not run" not in printed, re.findall(r"BOMB not run.*", printed)
    count = re.findall(r"BOMB (\d+)", printed)
    assert count, f"the fork bomb did not report: {printed[-500:]}"
    assert int(count[0]) < 1000, "1,000 processes started: no process limit"


def test_disk_is_limited(a1: Batch) -> None:
    printed = _printed(a1, "host_processes")
    written = re.findall(r"DISK (\d+) MiB", printed)
    assert written, f"the disk probe did not report: {printed[-500:]}"
    assert int(written[0]) < 2048, "2 GiB written without being stopped"
    own = a1.course.root / "autograded" / "host_processes"
    left = [p for p in a1.host.traces(a1.course.root) if p.name.startswith("fill-")]
    left = [p for p in left if own not in p.parents or p.stat().st_size > (1 << 30)]
    assert not left, f"the filled file is still on the host: {left}"


@pytest.mark.parametrize("assignment", sorted(OTHERS))
def test_other_assignments(
    assignment: str, batches: dict[str, Batch], hosts: list, tmp_path_factory
) -> None:
    batch = _build(tmp_path_factory.mktemp(f"attacks-{assignment}"), assignment, hosts)
    batches[assignment] = batch
    gains = _gains(batch)
    assert not gains, f"{assignment}: attacks that raised their grade: {gains}"
    assert set(batch.course.totals(assignment)) == set(batch.students)


def test_plain_nbgrader_autograde(tmp_path: Path) -> None:
    """An attack under plain ``nbgrader autograde`` (configured by nbgrader_config.py), on a2."""
    assignment, attack = PLAIN
    course = Course.create(tmp_path / "course", [assignment])
    course.generate(assignment)
    release = course.release_notebook(assignment)
    student = f"kernel_{attack}"
    course.submit(assignment, student, _notebook(release, first=cell(kernel.BLANK_ATTACKS[attack])))
    course.submit(assignment, "reference", course.source_notebook(assignment))
    host_ = Host(tmp_path)
    with _grading_env(tmp_path, host_):
        course.autograde(assignment)  # the configured cell limit: these kernels start cold
    assert course.totals(assignment) == {
        student: 0.0,
        "reference": course.autograded_points(assignment),
    }

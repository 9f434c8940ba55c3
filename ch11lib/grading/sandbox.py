"""The sandbox the student's code runs in while it is graded: bubblewrap, limits, a kernel server.

One sandbox serves the submissions that one grading process grades, one after the other. It is a
``bwrap`` container (Debian package ``bubblewrap``) with

- its own network, IPC, PID and UTS namespaces: no network at all, not even the host's loopback;
- a read-only view of ``/usr``, ``/etc``, the Python interpreter, the virtual environment, the
  ``ch11lib`` package and WordNet's data, and nothing else of the host: not the course directory
  (``solutions/``, the gradebook, ``submitted/``, ``autograded/``, ``feedback/``), not the grader's
  home, not the host's ``/tmp``;
- size-limited ``tmpfs`` mounts for the student's home (their copy of the submission) and ``/tmp``;
- a kernel server inside (:mod:`ch11lib.grading.forkkernel`, the torch and transformers imports done
  once) that forks one kernel per submission. Started as root, the kernel drops to an unprivileged
  uid of its own (:data:`SandboxConfig.uid`) after the server emptied the home and ``/tmp`` and
  copied that student's files in; ``RLIMIT_AS`` (memory), ``RLIMIT_NPROC`` (processes),
  ``RLIMIT_FSIZE`` (file size) and ``RLIMIT_CPU`` (CPU time of the notebook) are set first;
- a folder of the grader (:attr:`Sandbox.root`, mode 0711) bound in at the same path: the kernel
  server's socket (mode 0600: the student's uid cannot connect) and one folder per kernel with its
  connection file, its ZeroMQ ``ipc`` sockets and the files that carry a call's data. Once the
  kernel is up that folder belongs to root again: the student can write only the two reply files.

When a submission's kernel is shut down, the server kills every process of the student's uid; the
whole sandbox dies with the grading process (``--die-with-parent``, a PID namespace).

``RLIMIT_AS`` bounds each process, not their sum, so where this machine lets root make a memory
cgroup (v2 ``memory.max``, or v1 ``memory.limit_in_bytes``) the whole sandbox joins one whose limit
is :attr:`SandboxConfig.memory_bytes` plus the kernel server's share: a kernel that starts many
processes is stopped by the kernel's OOM killer when they *together* pass it. The server is made
the OOM killer's last choice; the kernels it forks make themselves its first (a student's process,
never the server, is what dies). Without a cgroup, the log says that only the per-process limit holds.

Not started as root (no way to change uid), every submission gets a fresh sandbox of its own.
If ``bwrap`` is missing or cannot create namespaces, :func:`check` says how to fix it; grading
without the sandbox needs ``CH11_GRADE_UNSANDBOXED=1`` (``--no-sandbox`` on the command line).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ch11lib.grading import forkkernel

UNSANDBOXED_ENV = "CH11_GRADE_UNSANDBOXED"
UID_ENV = "CH11_SANDBOX_UID"
HOME = "/home/student"
NLTK_DATA = "/nltk_data"  # WordNet, read-only
GIB = 1024**3

UNSANDBOXED_WARNING = (
    "WARNING: graded WITHOUT the sandbox (CH11_GRADE_UNSANDBOXED=1): the submissions' code could "
    "read and change files of this machine, reach the network and outlive grading"
)


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot start here; the message says how to fix it and how to grade without it."""


def unsandboxed() -> bool:
    """True when the instructor switched the sandbox off (``CH11_GRADE_UNSANDBOXED=1``)."""
    return os.environ.get(UNSANDBOXED_ENV, "") not in ("", "0")


@dataclass
class SandboxConfig:
    """Limits of one submission's kernel (and of everything it starts)."""

    memory_bytes: int = (
        4 * GIB
    )  # RLIMIT_AS of every process, and the cgroup's limit for all of them
    server_bytes: int = 1 * GIB  # the kernel server's share of the cgroup (torch, transformers)
    processes: int = 256  # RLIMIT_NPROC of the student's uid (threads count)
    file_bytes: int = 1 * GIB  # RLIMIT_FSIZE: largest file it may write
    disk_bytes: int = 1 * GIB  # size of its home (tmpfs), and of its /tmp
    cpu_seconds: int = 3600  # RLIMIT_CPU of the kernel: the whole notebook
    uid: int = 0  # first uid - 1 (0: CH11_SANDBOX_UID, else from this process's pid)

    def student_uid(self) -> int:
        if self.uid:
            return self.uid
        if os.environ.get(UID_ENV):
            return int(os.environ[UID_ENV])
        return 1_000_000 + (os.getpid() % 1000) * 10_000  # + one per submission


def memory_cgroup(limit_bytes: int) -> Path | None:
    """A new memory cgroup limited to ``limit_bytes`` (v2 or v1), or None where root cannot make one."""
    if os.geteuid() != 0:
        return None
    name = f"ch11-sandbox-{os.getpid()}-{time.monotonic_ns()}"
    unified = Path("/sys/fs/cgroup")
    candidates = []
    if "memory" in _read(unified / "cgroup.controllers").split():
        candidates.append((unified / name, "memory.max", ()))
    candidates.append(
        (unified / "memory" / name, "memory.limit_in_bytes", ("memory.memsw.limit_in_bytes",))
    )
    for folder, limit_file, optional in candidates:
        try:
            folder.mkdir()
        except OSError:
            continue
        try:
            (folder / limit_file).write_text(str(limit_bytes))
            for extra in optional:  # swap too, where the kernel accounts it
                if (folder / extra).exists():
                    (folder / extra).write_text(str(limit_bytes))
            return folder
        except OSError:
            remove_cgroup(folder)
    return None


def remove_cgroup(folder: Path | None) -> None:
    """Remove an (empty) cgroup made by :func:`memory_cgroup`."""
    if folder is None:
        return
    for _ in range(50):  # its processes may take a moment to be gone
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _join_cgroup(folder: Path | None) -> None:
    """In the child, before exec: join the cgroup; be the OOM killer's last choice."""
    if folder is not None:
        (folder / "cgroup.procs").write_text(str(os.getpid()))
        try:  # some containers refuse to lower it; the kernels still raise theirs to the maximum
            with open("/proc/self/oom_score_adj", "w") as adj:
                adj.write("-1000")
        except OSError:
            pass


def _bwrap() -> str | None:
    return shutil.which("bwrap")


def _wordnet_dir() -> str | None:
    """The NLTK data folder that holds WordNet on this machine (arranged if need be)."""
    try:
        import nltk

        from ch11lib import wordnet

        try:
            found = nltk.data.find("corpora/wordnet")
            return str(Path(str(found)).parent.parent)
        except LookupError:
            if wordnet.DEBIAN_WORDNET_DIR.is_dir():
                return str(wordnet.arrange_debian_wordnet())
    except Exception:  # noqa: BLE001  (no WordNet: the notebook's own import will say so)
        return None
    return None


def read_only_paths() -> list[str]:
    """What the student's code may read: the system, Python, the venv, ch11lib, WordNet."""
    import ch11lib

    paths = ["/usr", "/etc", sys.base_prefix, sys.prefix, str(Path(ch11lib.__file__).parent)]
    for name in ("/opt/conda",):
        if Path(sys.executable).resolve().is_relative_to(name):
            paths.append(name)
    return list(dict.fromkeys(str(Path(p).resolve()) for p in paths if Path(p).exists()))


def bwrap_argv(root: str, config: SandboxConfig, as_root: bool, command: list[str]) -> list[str]:
    """The ``bwrap`` command line of a sandbox whose grader folder is ``root``."""
    argv = [_bwrap() or "bwrap", "--die-with-parent", "--new-session"]
    argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    argv += ["--unshare-cgroup-try"]
    if not as_root:
        argv += ["--unshare-user"]
    else:  # what the server needs to hand each kernel to its own uid; the kernel drops it all
        argv += ["--cap-drop", "ALL"]
        for cap in ("SETUID", "SETGID", "KILL", "CHOWN", "FOWNER", "DAC_OVERRIDE"):
            argv += ["--cap-add", f"CAP_{cap}"]
    made: set[str] = set()

    def parents(path: str) -> list[str]:
        out = []
        for parent in reversed(Path(path).parents):
            text = str(parent)
            if text != "/" and text not in made:
                made.add(text)
                out += ["--perms", "0755", "--dir", text]
        return out

    for name in ("lib", "lib64", "bin", "sbin"):
        host = Path("/") / name
        if host.is_symlink():
            argv += ["--symlink", os.readlink(host), f"/{name}"]
        elif host.is_dir():
            argv += ["--ro-bind", str(host), f"/{name}"]
    # the empty /tmp and home first: a checkout (its venv, its ch11lib) under /tmp is bound over it
    argv += ["--perms", "01777", "--size", str(config.disk_bytes), "--tmpfs", "/tmp"]
    argv += parents(HOME) + ["--perms", "0755", "--size", str(config.disk_bytes), "--tmpfs", HOME]
    for path in read_only_paths():
        argv += parents(path) + ["--ro-bind", path, path]
    wordnet = _wordnet_dir()
    if wordnet:
        argv += ["--ro-bind", wordnet, NLTK_DATA, "--setenv", "NLTK_DATA", NLTK_DATA]
    argv += ["--dev", "/dev", "--proc", "/proc"]
    argv += parents(root) + ["--bind", root, root]
    argv += ["--chdir", HOME, "--setenv", "HOME", HOME, "--setenv", "TMPDIR", "/tmp"]
    argv += ["--unsetenv", "PYTHONPATH"]
    return [*argv, *command]


def check(config: SandboxConfig | None = None) -> None:
    """Raise :class:`SandboxUnavailable` (with the fix) unless a sandbox can start here."""
    config = config or SandboxConfig()
    fix = (
        "Install it with `sudo apt-get install bubblewrap` (make install does), and allow "
        "unprivileged user namespaces if you do not grade as root "
        "(`sysctl kernel.unprivileged_userns_clone=1`; in a container, run it with "
        "--security-opt seccomp=unconfined or as root). To grade WITHOUT the sandbox (the "
        "submissions' code then runs with your rights), set CH11_GRADE_UNSANDBOXED=1 or pass "
        "--no-sandbox."
    )
    if _bwrap() is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed. {fix}")
    with tempfile.TemporaryDirectory(prefix="ch11-sandbox-check-") as root:
        argv = bwrap_argv(root, config, os.geteuid() == 0, [sys.executable, "-c", "pass"])
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    if result.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap cannot start a sandbox here ({result.stderr.strip()[:300]}). {fix}"
        )


@dataclass
class KernelSlot:
    """What a sandboxed kernel needs: its folder, its connection file, its exchange files."""

    folder: Path
    connection_file: Path
    env: dict[str, str] = field(default_factory=dict)
    uid: int = 0


class Sandbox:
    """A running sandbox with a kernel server inside (see the module docstring)."""

    def __init__(self, modules: list[str], config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.as_root = os.geteuid() == 0
        self.uid = self.config.student_uid() if self.as_root else os.getuid()
        base = "/var/tmp" if os.access("/var/tmp", os.W_OK) else None  # not the sandbox's /tmp
        self.root = Path(tempfile.mkdtemp(prefix="ch11-sandbox-", dir=base))
        os.chmod(self.root, 0o711)
        self.socket = str(self.root / "kernels.sock")
        self._count = 0
        command = [sys.executable, forkkernel.__file__, "serve", self.socket, *modules]
        argv = bwrap_argv(str(self.root), self.config, self.as_root, command)
        self.log = self.root / "server.log"  # the grader's (mode 0600); kernels' stray output
        self.cgroup = memory_cgroup(self.config.memory_bytes + self.config.server_bytes)
        with open(self.log, "wb") as log:
            os.chmod(self.log, 0o600)
            if self.cgroup is None:
                log.write(b"note: no memory cgroup here: only the per-process memory limit holds\n")
                log.flush()
            cgroup = self.cgroup
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=lambda: _join_cgroup(cgroup),
            )
        deadline = time.monotonic() + 600
        while not os.path.exists(self.socket):
            if self.process.poll() is not None or time.monotonic() > deadline:
                error = self.log.read_text(errors="replace")[-2000:]
                self.close()
                raise SandboxUnavailable(f"the sandbox did not start: {error.strip()[:500]}")
            time.sleep(0.05)

    def alive(self) -> bool:
        return self.process.poll() is None

    def new_kernel(self, submission: Path | None) -> KernelSlot:
        """A folder for the next kernel, with a copy of the submission's files to start from."""
        self._count += 1
        # a uid per submission (started as root): nothing an earlier one left can touch this one
        uid = self.uid + self._count if self.as_root else self.uid
        folder = self.root / f"k{self._count}"
        folder.mkdir(mode=0o755)
        inbox = folder / "submission"
        if submission is not None and submission.is_dir():
            shutil.copytree(  # links stay links (never followed: they could point anywhere) ...
                submission,
                inbox,
                symlinks=True,
                # no dot-folders: an .ipython/ startup file would run as the kernel starts
                ignore=shutil.ignore_patterns("*.ipynb", ".*", "*.txt"),
            )
            for path in list(inbox.rglob("*")):  # ... and are dropped
                if path.is_symlink():
                    path.unlink()
        else:
            inbox.mkdir()
        for path in [inbox, *inbox.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        for name in ("in.pt", "cb-out.pt"):
            (folder / name).touch(mode=0o644)
        for name in ("out.pt", "cb-in.pt"):
            (folder / name).touch(mode=0o644)
            os.chown(folder / name, uid, uid)
        sockets = folder / "sock"  # the kernel creates its ipc sockets here, nothing else
        sockets.mkdir(mode=0o755)
        os.chown(sockets, uid, uid)
        connection = folder / "kernel.json"
        limits = {
            "as": self.config.memory_bytes,
            "fsize": self.config.file_bytes,
            "cpu": self.config.cpu_seconds,
        }
        if self.as_root:
            limits["nproc"] = self.config.processes
        request = {
            "home": HOME,
            "uid": uid,
            "copy_from": str(inbox),
            "readable": [str(connection)],
            "quiet": not os.environ.get("CH11_SANDBOX_DEBUG"),
            "rlimits": limits,
            "env": {
                "MPLBACKEND": "Agg",
                "TQDM_DISABLE": "1",
                "HF_HUB_OFFLINE": "1",
                "NLTK_DATA": NLTK_DATA,
            },
        }
        if not self.as_root:
            request.pop("uid")
        env = {forkkernel.SERVER_ENV: self.socket, forkkernel.SANDBOX_ENV: json.dumps(request)}
        return KernelSlot(folder, connection, env, uid)

    def seal(self, slot: KernelSlot) -> None:
        """The kernel is up: its socket folder takes no more files from the student."""
        sockets = slot.folder / "sock"
        os.chown(sockets, 0, 0) if self.as_root else os.chmod(sockets, 0o555)

    def reap(self, keep: int, uid: int | None = None) -> None:
        """Kill the student's processes except the kernel (pid ``keep`` inside the sandbox)."""
        if not self.as_root:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(30)
                conn.connect(self.socket)
                conn.sendall(
                    (
                        json.dumps({"op": "reap", "uid": uid or self.uid, "keep": keep}) + "\n"
                    ).encode()
                )
                conn.recv(16)
        except OSError:
            pass

    def release(self, slot: KernelSlot) -> None:
        shutil.rmtree(slot.folder, ignore_errors=True)
        if os.environ.get("CH11_SANDBOX_DEBUG"):
            sys.stderr.write(self.log.read_text(errors="replace")[-4000:])

    def close(self) -> None:
        if self.process.poll() is None:  # ask the server to end (kills and reaps its kernels)
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                    conn.settimeout(5)
                    conn.connect(self.socket)
                    conn.sendall(b'{"op": "exit"}\n')
                self.process.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 9)
            except ProcessLookupError:
                pass
            self.process.wait()
        remove_cgroup(self.cgroup)
        shutil.rmtree(self.root, ignore_errors=True)


_SHARED: dict[str, Any] = {}


def shared_sandbox(modules: list[str]) -> Sandbox:
    """The sandbox of this grading process (started on first use, ended when the process ends)."""
    box = _SHARED.get("box")
    if box is not None and box.alive() and box.as_root:
        return box
    if box is not None:
        box.close()
    import atexit

    box = Sandbox(modules)
    _SHARED["box"] = box
    if not _SHARED.get("atexit"):
        atexit.register(lambda: _SHARED["box"].close() if _SHARED.get("box") else None)
        _SHARED["atexit"] = True
    return box

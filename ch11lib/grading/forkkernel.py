"""Start grading kernels in milliseconds: a fork server with the heavy imports already done.

Autograding a notebook starts a fresh Python kernel, and importing ``torch`` and ``transformers``
there costs more CPU than most assignments' tests. The fork server imports those modules once and
forks a fresh kernel process per notebook: every student still gets a new process (nothing leaks
from one submission to the next: the server never runs notebook code, and a fork copies only the
server's state, i.e. imported modules), but the imports are paid once per class instead of once per
student.

Two halves, both stdlib-only at start-up:

- :func:`serve` (``python forkkernel.py serve SOCKET MODULE...``) imports the modules, then listens on
  a Unix socket; for each request it forks a child that becomes ``ipykernel`` with the request's
  arguments, working directory and environment, reports the child's pid and exit status, and kills
  the child when the requester goes away.
- the launcher (``python forkkernel.py -f CONNECTION_FILE``, the ``argv`` of the kernelspec written by
  :func:`write_kernelspec`) is the process Jupyter's kernel manager sees: it asks the server for a
  kernel, forwards signals to it and exits with its status. Without a server (``CH11_FORK_SERVER``
  unset or unreachable) it simply becomes a normal ``ipykernel``.

The kernelspec uses ``interrupt_mode: message``: a cell that runs past the time limit is interrupted
through the kernel's control channel, as with a normal kernel.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import socket
import sys
from pathlib import Path

SERVER_ENV = "CH11_FORK_SERVER"
SANDBOX_ENV = "CH11_SANDBOX_REQUEST"  # JSON: what the server does before the kernel starts
KERNEL_NAME = "ch11-forked"


def write_kernelspec(
    directory: Path, python: str = sys.executable, name: str = KERNEL_NAME
) -> Path:
    """Write ``<directory>/kernels/<name>/kernel.json``; put ``directory`` on ``JUPYTER_PATH``."""
    spec_dir = Path(directory) / "kernels" / name
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [python, str(Path(__file__).resolve()), "-f", "{connection_file}"],
        "display_name": "Python 3 (fork server)",
        "language": "python",
        "interrupt_mode": "message",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return spec_dir


# Variables a sandboxed kernel keeps from the grader's environment (the rest is the grader's business).
_SANDBOX_ENV = (
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "MPLBACKEND",
    "TQDM_DISABLE",
    "PYTHONWARNINGS",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "CH11_SOURCE",
    "OMP_NUM_THREADS",
    "PYTHONHASHSEED",
    "TOKENIZERS_PARALLELISM",
)


def _empty(folder: str) -> None:
    """Delete what is in ``folder`` (a tmpfs), never what is mounted under it."""
    import shutil

    device = os.stat(folder).st_dev
    for entry in os.listdir(folder):
        path = os.path.join(folder, entry)
        if os.path.ismount(path) or os.lstat(path).st_dev != device:
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _enter_sandbox(request: dict) -> None:
    """In the forked child, still root inside the sandbox: a clean home with only this student's
    files, the limits, then the student's unprivileged uid (no way back)."""
    import resource
    import shutil

    box = request["sandbox"]
    home, uid = box["home"], box.get("uid")
    for folder in (home, "/tmp"):
        _empty(folder)
    source = box.get("copy_from")
    if source and os.path.isdir(source):
        shutil.copytree(source, home, dirs_exist_ok=True, symlinks=False)
    if uid is not None:
        for folder, dirs, files in os.walk(home):
            for name in [*dirs, *files]:
                os.lchown(os.path.join(folder, name), uid, uid)
        os.chown(home, uid, uid)
        os.chmod(home, 0o700)  # not readable by an earlier submission's uid
    for name in box.get("readable", []):  # the connection file jupyter_client wrote 0600
        os.chmod(name, 0o644)
    try:  # the student's processes, not the server, are what the OOM killer stops first
        with open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000")
    except OSError:
        pass
    for name, value in box.get("rlimits", {}).items():
        limit = getattr(resource, f"RLIMIT_{name.upper()}")
        resource.setrlimit(limit, (int(value), int(value)))
    env = {k: v for k, v in request["env"].items() if k in _SANDBOX_ENV}
    env.update(HOME=home, TMPDIR="/tmp", USER="student", **box.get("env", {}))
    request["env"], request["cwd"] = env, home
    request.pop("stdout", None)
    request.pop("stderr", None)
    if box.get("quiet"):  # what the student's code writes to fd 1/2 goes nowhere on the host
        request["stdout"] = request["stderr"] = os.devnull
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        if os.getuid() == 0 or os.geteuid() == 0:
            os._exit(70)


def _become_kernel(request: dict) -> None:
    """In the forked child: turn into an ipykernel as ``python -m ipykernel_launcher ARGS`` would."""
    os.setsid()  # its own process group: interrupts and kills reach it and its children only
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if request.get("sandbox"):
        _enter_sandbox(request)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["ipykernel_launcher", *request["argv"]]
    sys.path[0] = ""  # like `python -m`: the working directory first
    for fd, name in ((0, os.devnull), (1, request.get("stdout")), (2, request.get("stderr"))):
        if name:
            target = os.open(name, os.O_RDWR if fd == 0 else os.O_WRONLY | os.O_APPEND)
            os.dup2(target, fd)
            os.close(target)
    from ipykernel.kernelapp import launch_new_instance

    launch_new_instance()


def _receive_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def preload(names: list[str]) -> None:
    """Import each dotted name as a module, or else as an attribute of its parent (``from
    transformers import BertModel`` loads lazily on attribute access). Failures are ignored: the
    notebook's own import will show the error."""
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001
            parent, _, attribute = name.rpartition(".")
            try:
                getattr(importlib.import_module(parent), attribute)
            except Exception:  # noqa: BLE001,S110
                pass


def _kill_uid(uid: int, keep: int = 0) -> None:
    """SIGKILL every process of ``uid`` (this server sees only its sandbox) except ``keep``."""
    if uid <= 0:
        return
    if not keep:
        _kill_all_of(uid)
    for signum in (signal.SIGSTOP, signal.SIGKILL):  # stopped first: they cannot fork meanwhile
        _signal_uid(uid, keep, signum)
    if not keep:
        _kill_all_of(uid)


def _kill_all_of(uid: int) -> None:
    """kill(-1) as ``uid``: every process of it at once; forks cannot outrun it."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _signal_uid(uid: int, keep: int, signum: int) -> None:
    for _ in range(50):  # a fork bomb refills the table while we kill: go round until empty
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in (keep, os.getpid()):
                continue
            try:
                with open(f"/proc/{entry}/status") as handle:
                    status = handle.read()
            except OSError:
                continue
            line = next((x for x in status.splitlines() if x.startswith("Uid:")), "")
            if line and int(line.split()[1]) == uid:
                found = True
                try:
                    os.kill(int(entry), signum)
                except (ProcessLookupError, PermissionError):
                    pass
        if not found or signum == signal.SIGSTOP:
            return


def serve(socket_path: str, modules: list[str]) -> None:
    """Import ``modules`` (failures are ignored: the kernel will report them), then serve forks.

    Single-threaded on purpose (``select``): forking a multi-threaded process is unsafe.
    """
    sys.path[0] = ""  # as in a kernel, not this file's folder
    preload(modules)
    import ipykernel.kernelapp  # noqa: F401  (the child needs it; importing it here is the point)

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path + ".new")
    os.chmod(socket_path + ".new", 0o600)  # the grader's only: a sandboxed student cannot connect
    os.rename(socket_path + ".new", socket_path)
    server.listen(64)
    children: dict[int, socket.socket] = {}  # pid -> connection of the launcher that asked
    uids: dict[int, int] = {}  # pid -> the sandbox uid it runs as
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            ready, _, _ = select.select([server, *children.values()], [], [], 0.2)
            for conn in ready:
                if conn is server:
                    client, _ = server.accept()
                    request = json.loads(_receive_line(client) or b"{}")
                    if request.get("op") == "exit":  # the grader is done: end cleanly
                        client.close()
                        raise SystemExit(0)
                    if request.get("op") == "reap":  # kill a sandbox uid's processes but one
                        _kill_uid(int(request["uid"]), keep=int(request.get("keep", 0)))
                        client.sendall(b"done\n")
                        client.close()
                        continue
                    pid = os.fork()
                    if pid == 0:
                        server.close()
                        for other in children.values():
                            other.close()
                        client.close()
                        try:
                            _become_kernel(request)
                        finally:
                            os._exit(0)
                    children[pid] = client
                    uids[pid] = int((request.get("sandbox") or {}).get("uid", -1))
                    client.sendall(f"{pid}\n".encode())
                else:  # the launcher closed its end (it exited or was killed): end its kernel
                    pid = next(p for p, c in children.items() if c is conn)
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    if uids.get(pid, -1) > 0:  # and everything the student started
                        _kill_uid(uids[pid])
            while children:  # reap finished kernels and tell their launchers
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                uids.pop(pid, None)
                conn = children.pop(pid, None)
                if conn is not None:
                    try:
                        conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
                    except OSError:
                        pass
                    conn.close()
    finally:
        for pid in children:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in children:  # reaped, so that their CPU time is counted (benchmarks)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        for uid in set(uids.values()):
            _kill_uid(uid)
        server.close()


def launch(argv: list[str]) -> int:
    """The kernel process Jupyter sees: a forked kernel from the server, or a normal one."""
    path = os.environ.get(SERVER_ENV)
    sandbox = os.environ.get(SANDBOX_ENV)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if not path:
            raise OSError("no fork server")
        conn.connect(path)
    except OSError:
        conn.close()
        if sandbox:  # never fall back to an unsandboxed kernel for a student
            print("the sandbox's kernel server is not running", file=sys.stderr)
            return 1
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])
    request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
    if sandbox:
        request["sandbox"] = json.loads(sandbox)
    for fd, key in ((1, "stdout"), (2, "stderr")):  # the kernel writes where this process would
        if os.path.exists(f"/proc/{os.getpid()}/fd/{fd}"):
            request[key] = f"/proc/{os.getpid()}/fd/{fd}"  # reopens pipes too
    conn.sendall((json.dumps(request) + "\n").encode())
    pid = int(_receive_line(conn).strip() or 0)
    if pid <= 0:
        return 1

    def forward(signum: int, _frame: object) -> None:
        try:
            os.killpg(pid, signum)
        except ProcessLookupError:
            pass
        if signum == signal.SIGTERM:
            sys.exit(143)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
        signal.signal(signum, forward)
    reply = _receive_line(conn).decode().split()
    return int(reply[1]) if len(reply) == 2 and reply[0] == "exit" else 1


def main(argv: list[str]) -> int:
    if argv and argv[0] == "serve":
        try:
            serve(argv[1], argv[2:])
        finally:
            # an imported library may have started non-daemon threads: do not wait for them
            sys.stdout.flush()
            os._exit(0)
    return launch(argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

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
KERNEL_NAME = "ch11-forked"


def write_kernelspec(directory: Path, python: str = sys.executable) -> Path:
    """Write ``<directory>/kernels/ch11-forked/kernel.json``; put ``directory`` on ``JUPYTER_PATH``."""
    spec_dir = Path(directory) / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [python, str(Path(__file__).resolve()), "-f", "{connection_file}"],
        "display_name": "Python 3 (fork server)",
        "language": "python",
        "interrupt_mode": "message",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return spec_dir


def _become_kernel(request: dict) -> None:
    """In the forked child: turn into an ipykernel as ``python -m ipykernel_launcher ARGS`` would."""
    os.setsid()  # its own process group: interrupts and kills reach it and its children only
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
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


def serve(socket_path: str, modules: list[str]) -> None:
    """Import ``modules`` (failures are ignored: the kernel will report them), then serve forks.

    Single-threaded on purpose (``select``): forking a multi-threaded process is unsafe.
    """
    sys.path[0] = ""  # as in a kernel, not this file's folder
    preload(modules)
    import ipykernel.kernelapp  # noqa: F401  (the child needs it; importing it here is the point)

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(64)
    children: dict[int, socket.socket] = {}  # pid -> connection of the launcher that asked
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            ready, _, _ = select.select([server, *children.values()], [], [], 0.2)
            for conn in ready:
                if conn is server:
                    client, _ = server.accept()
                    request = json.loads(_receive_line(client) or b"{}")
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
                    client.sendall(f"{pid}\n".encode())
                else:  # the launcher closed its end (it exited or was killed): end its kernel
                    pid = next(p for p, c in children.items() if c is conn)
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            while children:  # reap finished kernels and tell their launchers
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
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
        server.close()


def launch(argv: list[str]) -> int:
    """The kernel process Jupyter sees: a forked kernel from the server, or a normal one."""
    path = os.environ.get(SERVER_ENV)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if not path:
            raise OSError("no fork server")
        conn.connect(path)
    except OSError:
        conn.close()
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])
    request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
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

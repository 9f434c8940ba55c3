"""Keeps the tests off the network: no connection may leave this machine.

Two uses, one implementation:

- in a test process, `block(report)` patches `socket.socket.connect`, `connect_ex` and
  `socket.getaddrinfo` so that any host other than this machine raises `OSError` and is passed to
  `report` (the session fixture in ``conftest.py`` fails the test during which it happened);
- for the processes a test starts (jupyter-book, nbgrader, the Jupyter kernels they launch),
  `blocker_env(directory, log)` writes *this file* as ``sitecustomize.py`` into ``directory`` and
  returns the environment under which every Python process blocks itself at start-up, appends each
  attempt to ``log`` and the command line of every process it guarded to ``log.guarded``.

Jupyter talks to its kernels over ZeroMQ on 127.0.0.1 (in libzmq, not Python sockets), and the
browser test serves the book on 127.0.0.1: local addresses are allowed. Only the standard library
is imported here, since every guarded process runs this file before anything else.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost", "0.0.0.0", ""})
LOG_VARIABLE = "CH11_NETLOG"
CANARY_ADDRESS = "192.0.2.1"  # TEST-NET-1 (RFC 5737): never a real host


def _host(host: object) -> str:
    return host.decode() if isinstance(host, bytes) else str(host)


def is_local(address: object) -> bool:
    """Whether a socket address stays on this machine (a Unix socket path always does)."""
    if not isinstance(address, tuple):
        return True
    return _host(address[0]) in LOCAL_HOSTS


def block(report: Callable[[str], None]) -> Callable[[], None]:
    """Refuse non-local connections and name look-ups in this process; return the undo function.

    Each refused attempt is passed to ``report`` (a short description) and raises ``OSError``.
    """
    connect, connect_ex, getaddrinfo = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.getaddrinfo,
    )

    def refuse(what: object) -> OSError:
        report(repr(what))
        return OSError(f"network access blocked in the tests: {what!r}")

    def guarded_connect(self: socket.socket, address: object) -> None:
        if not is_local(address):
            raise refuse(address)
        return connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: object) -> int:
        if not is_local(address):
            raise refuse(address)
        return connect_ex(self, address)

    def guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
        if host is not None and _host(host) not in LOCAL_HOSTS:
            raise refuse(("getaddrinfo", host))
        return getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = guarded_getaddrinfo  # type: ignore[assignment]

    def undo() -> None:
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]

    return undo


def _append(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def _block_this_process() -> None:
    """What ``sitecustomize.py`` does: block, log attempts to $CH11_NETLOG, record this process."""
    log = os.environ.get(LOG_VARIABLE)
    pid = os.getpid()
    if log:
        command = " ".join(getattr(sys, "orig_argv", [])).replace("\n", " ")
        _append(log + ".guarded", f"{pid} {command[:300]}")
    block(lambda what: _append(log, f"{pid} {what}") if log else None)


def blocker_env(directory: Path, log: Path) -> dict[str, str]:
    """Write the blocker into ``directory``; the variables to set for the processes to guard.

    ``PYTHONPATH`` gets ``directory`` in front (so its ``sitecustomize.py`` runs in every Python
    process, kernels included) and ``CH11_NETLOG`` names ``log``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    source = Path(__file__).read_text(encoding="utf-8")
    (directory / "sitecustomize.py").write_text(source, encoding="utf-8")
    path = os.pathsep.join(p for p in (str(directory), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, LOG_VARIABLE: str(log)}


def read_log(log: Path) -> str:
    """The attempts logged so far (empty when there were none)."""
    return log.read_text(encoding="utf-8") if log.exists() else ""


def guarded_processes(log: Path) -> list[str]:
    """The command lines of the processes that ran with the blocker and this log."""
    guarded = log.with_name(log.name + ".guarded")
    return guarded.read_text(encoding="utf-8").splitlines() if guarded.exists() else []


def assert_blocker_works(directory: Path) -> None:
    """Fail unless a process started with the blocker can neither look up nor connect to a remote
    host (directly, without a name look-up), and both attempts are logged."""
    canary = directory / "canary.log"
    env = {**os.environ, **blocker_env(directory / "site", canary)}
    code = (
        "import socket\n"
        "raw = socket.socket()\n"
        "raw.settimeout(1)\n"
        "for attempt in (lambda a: socket.create_connection(a, timeout=1), raw.connect):\n"
        "    try:\n"
        f"        attempt(({CANARY_ADDRESS!r}, 80))\n"
        "    except OSError:\n"
        "        pass\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    attempts = read_log(canary).splitlines()
    assert len(attempts) == 2 and all(CANARY_ADDRESS in a for a in attempts), (
        f"the network blocker let a connection through; it logged {attempts}"
    )


if __name__ == "sitecustomize":
    _block_this_process()

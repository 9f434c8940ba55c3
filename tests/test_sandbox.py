"""The sandbox that students' code runs in while it is graded (``ch11lib.grading.sandbox``).

One sandbox (bubblewrap, a kernel server inside) and one student kernel forked from it, with small
limits; code runs in that kernel as a submission's cells would. It must have no network (not even
the host's loopback), see none of the course directory or the host's ``/tmp``, write only its own
home, be stopped by its memory and process limits, and leave no process behind when its kernel is
shut down. The end-to-end attacks on a graded class are in ``test_grader_attacks.py``.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest
from nbgrader_harness import REPO_ROOT

from ch11lib.grading import sandbox
from ch11lib.grading.execute import student_kernel_manager

GIB = 1 << 30
LIMITS = sandbox.SandboxConfig(
    memory_bytes=3 * GIB, processes=64, file_bytes=64 << 20, disk_bytes=128 << 20
)


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            line = next(x for x in status.splitlines() if x.startswith("Uid:"))
            if int(line.split()[1]) == uid:
                found.append(int(entry))
    return found


class Kernel:
    def __init__(self, box: sandbox.Sandbox, submission: Path) -> None:
        self.box = box
        self.slot = box.new_kernel(submission)
        self.km = student_kernel_manager(self.slot.folder, self.slot.connection_file)
        self.km.start_kernel(env={**os.environ, **self.slot.env}, cwd=str(self.slot.folder))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=300)
        box.seal(self.slot)

    def run(self, code: str) -> str:
        """The cell's stdout (and its error, if any)."""
        out: list[str] = []

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")

        self.kc.execute_interactive(code, timeout=120, output_hook=hook)
        return "".join(out).strip()

    def shutdown(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
        self.box.release(self.slot)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory):
    submission = tmp_path_factory.mktemp("submission")
    (submission / "data.csv").write_text("1,2\n")
    box = sandbox.Sandbox([], LIMITS)
    kernel = Kernel(box, submission)
    yield kernel
    kernel.shutdown()
    box.close()


def test_it_sees_only_its_own_files(kernel: Kernel, tmp_path: Path) -> None:
    secret = Path("/tmp") / f"ch11-host-secret-{os.getpid()}"
    secret.write_text("host")
    try:
        seen = kernel.run(
            "import os\n"
            f"print(os.getuid(), sorted(f for f in os.listdir('.') if f[0] != '.'),\n"
            f"      os.path.exists({str(secret)!r}),\n"
            f"      os.path.exists({str(REPO_ROOT / 'solutions')!r}),\n"
            f"      os.path.exists({str(REPO_ROOT / 'nbgrader_config.py')!r}),\n"
            f"      os.path.exists({str(Path.home())!r} + '/.bashrc'))"
        )
    finally:
        secret.unlink()
    uid, rest = seen.split(" ", 1)
    if os.geteuid() == 0:  # started as root, it runs as an unprivileged uid of its own
        assert int(uid) == kernel.slot.uid and int(uid) != 0, seen
    assert rest == "['data.csv'] False False False False", seen


def test_it_writes_only_its_home(kernel: Kernel) -> None:
    seen = kernel.run(
        "results = []\n"
        f"for path in ({str(REPO_ROOT / 'ch11lib' / 'pwned.py')!r}, '/etc/pwned', "
        f"{str(kernel.slot.folder / 'pwned')!r}, 'mine.txt'):\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        results.append('wrote')\n"
        "    except OSError:\n"
        "        results.append('refused')\n"
        "print(results)"
    )
    assert seen == "['refused', 'refused', 'refused', 'wrote']", seen
    assert not (REPO_ROOT / "ch11lib" / "pwned.py").exists()
    assert not (kernel.slot.folder / "pwned").exists()


def test_it_has_no_network_not_even_the_hosts_loopback(kernel: Kernel) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    accepted: list[object] = []
    listener.settimeout(5)

    def accept() -> None:
        try:
            accepted.append(listener.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    seen = kernel.run(
        "import socket\n"
        "s = socket.socket()\n"
        "s.settimeout(3)\n"
        "try:\n"
        f"    s.connect(('127.0.0.1', {port}))\n"
        "    print('connected')\n"
        "except OSError as e:\n"
        "    print('refused', type(e).__name__)\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 80), timeout=3)\n"
        "    print('internet')\n"
        "except OSError:\n"
        "    print('no internet')"
    )
    thread.join(6)
    listener.close()
    assert seen.startswith("refused") and seen.endswith("no internet"), seen
    assert not accepted, "the host's loopback server got a connection from the sandbox"


def test_memory_and_process_limits_hold(kernel: Kernel) -> None:
    seen = kernel.run(
        "try:\n"
        f"    block = bytearray({4 * GIB})\n"
        "    print('allocated')\n"
        "except MemoryError:\n"
        "    print('memory refused')"
    )
    assert seen == "memory refused", seen
    seen = kernel.run(
        "import subprocess\n"
        "children = []\n"
        "try:\n"
        "    for _ in range(200):\n"
        "        children.append(subprocess.Popen(['sleep', '300']))\n"
        "except OSError as e:\n"
        "    print('stopped at', len(children))\n"
        "else:\n"
        "    print('started all', len(children))"
    )
    assert seen.startswith("stopped at"), seen
    assert int(seen.split()[-1]) < LIMITS.processes, seen


def test_nothing_outlives_its_kernel(tmp_path: Path) -> None:
    import dataclasses

    # a uid of its own: the module's kernel still has its children (process limit reached)
    box = sandbox.Sandbox([], dataclasses.replace(LIMITS, uid=3_000_000 + os.getpid() % 1000))
    try:
        kernel = Kernel(box, tmp_path)
        seen = kernel.run(
            "import subprocess\n"
            "subprocess.Popen(['setsid', 'sleep', '1000'])\n"
            "subprocess.Popen(['sh', '-c', 'sleep 1000 &'])\n"
            "subprocess.Popen(['sh', '-c', 'while true; do (sleep 0.01 &) ; done'])\n"
            "print('started')"
        )
        assert seen == "started"
        uid = kernel.slot.uid
        assert len(_processes_of(uid)) >= 3, "the probe's processes did not start"
        kernel.shutdown()
        import time

        deadline = time.monotonic() + 20
        while _processes_of(uid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _processes_of(uid), "processes of the student outlived the kernel"
    finally:
        box.close()


def test_without_bubblewrap_grading_stops_and_names_the_fix(monkeypatch) -> None:
    monkeypatch.setattr(sandbox, "_bwrap", lambda: None)
    with pytest.raises(sandbox.SandboxUnavailable) as error:
        sandbox.check()
    message = str(error.value)
    assert "apt-get install bubblewrap" in message and sandbox.UNSANDBOXED_ENV in message
    assert "--no-sandbox" in message

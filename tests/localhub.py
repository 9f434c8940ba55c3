"""A small Hugging Face hub on 127.0.0.1 for tests: model repositories served the way the hub does.

Point ``HF_ENDPOINT`` at :attr:`LocalHub.url` and the real download code of ``huggingface_hub`` and
``transformers`` runs against it: ``HEAD``/``GET /<repo>/resolve/<revision>/<file>`` with the hub's
headers (``X-Repo-Commit``, ``ETag``, ``X-Error-Code: EntryNotFound`` for a missing file) and the
``/api/models/<repo>[/revision/<rev>]`` and ``/api/models/<repo>/tree/<rev>`` listings. Nothing leaves
the loopback. Every request is recorded in :attr:`LocalHub.requests`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import netblock

COMMIT = "0123456789abcdef0123456789abcdef01234567"


Repos = dict[str, "Path | dict[str, Path]"]


def revision_commit(revision: str) -> str:
    """The commit the hub reports for ``revision`` (``main`` is :data:`COMMIT`)."""
    return COMMIT if revision == "main" else hashlib.sha1(revision.encode()).hexdigest()


class LocalHub:
    """Serve model and data set repositories on 127.0.0.1 until :meth:`close`.

    A repository is a folder of files (its ``main``), or ``{revision: folder}`` with other branches
    beside ``main``: ``{"main": script_repo, "refs/convert/parquet": parquet_files}`` is a data set
    as the hub keeps one whose ``main`` holds a loading script. An unknown revision is a 404.
    """

    def __init__(self, repos: Repos, datasets: Repos | None = None):
        def branches(folder) -> dict[str, Path]:
            folders = folder if isinstance(folder, dict) else {"main": folder}
            return {revision: Path(path) for revision, path in folders.items()}

        self.kinds = {
            "models": {repo_id: branches(folder) for repo_id, folder in repos.items()},
            "datasets": {repo_id: branches(f) for repo_id, f in (datasets or {}).items()},
        }
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_HEAD(self):
                hub._handle(self, send_body=False)

            def do_GET(self):
                hub._handle(self, send_body=True)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.posted = self.rfile.read(length).decode() if length else ""
                hub._handle(self, send_body=True)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ----------------------------------------------------------------------------------------------

    def _split(self, kind: str, path: str) -> tuple[str, str] | None:
        """``(repo_id, rest)`` for the longest known repository id of ``kind`` that ``path`` starts with."""
        for repo_id in sorted(self.kinds[kind], key=len, reverse=True):
            if path == repo_id or path.startswith(repo_id + "/"):
                return repo_id, path[len(repo_id) :].lstrip("/")
        return None

    def _revision(self, kind: str, repo_id: str, rest: str) -> tuple[Path, str, str] | None:
        """``(folder, commit, what follows)`` for ``rest`` = ``<revision>[/...]``, where a revision is
        a branch name (which may hold slashes, as ``refs/convert/parquet`` does) or its commit."""
        names = {}
        for revision, folder in self.kinds[kind][repo_id].items():
            names[revision] = names[revision_commit(revision)] = (folder, revision_commit(revision))
        for name in sorted(names, key=len, reverse=True):
            if rest == name or rest.startswith(name + "/"):
                return *names[name], rest[len(name) :].lstrip("/")
        return None

    @staticmethod
    def _entries(folder: Path, under: str = "", recursive: bool = True) -> list[dict]:
        """Tree entries (files and folders) below ``under``, as the hub's tree API lists them."""
        base = folder / under if under else folder
        paths = base.rglob("*") if recursive else base.glob("*")
        entries = []
        for path in sorted(paths):
            name = path.relative_to(folder).as_posix()
            oid = hashlib.sha1(name.encode()).hexdigest()
            if path.is_dir():
                entries.append({"type": "directory", "path": name, "oid": oid, "size": 0})
            else:
                entries.append(
                    {"type": "file", "path": name, "size": path.stat().st_size, "oid": oid}
                )
        return entries

    def _not_found(self, request, send_body: bool) -> None:
        self._send(request, 404, b'{"error": "Repository not found"}', send_body,
                   {"X-Error-Code": "RepoNotFound"})  # fmt: skip

    def _handle(self, request: BaseHTTPRequestHandler, send_body: bool) -> None:
        url = urlparse(request.path)
        path = unquote(url.path).lstrip("/")
        self.requests.append((request.command, path))
        for kind in ("models", "datasets"):
            if path.startswith(f"api/{kind}/"):
                return self._api(request, kind, path.removeprefix(f"api/{kind}/"), url.query,
                                 send_body)  # fmt: skip
        kind = "models"
        if path.startswith("datasets/"):
            kind, path = "datasets", path.removeprefix("datasets/")
        found = self._split(kind, path)
        if found is None or "/resolve/" not in f"/{found[1]}":
            return self._not_found(request, send_body)
        repo_id, rest = found
        revision = self._revision(kind, repo_id, rest.removeprefix("resolve/"))
        if revision is None:
            return self._send(request, 404, b'{"error": "Revision not found"}', send_body,
                              {"X-Error-Code": "RevisionNotFound"})  # fmt: skip
        folder, commit, filename = revision
        headers = {"X-Repo-Commit": commit}
        if not filename or not (folder / filename).is_file():
            headers["X-Error-Code"] = "EntryNotFound"
            return self._send(request, 404, b'{"error": "Entry not found"}', send_body, headers)
        body = (folder / filename).read_bytes()
        headers["ETag"] = f'"{hashlib.sha256(body).hexdigest()}"'
        self._send(request, 200, body, send_body, headers, "application/octet-stream")

    def _api(self, request, kind: str, rest: str, query: str, send_body: bool) -> None:
        found = self._split(kind, rest)
        if found is None:
            return self._not_found(request, send_body)
        repo_id, tail = found
        # <action>/<revision>[/<path>] (tree, paths-info, revision), or the repository's main
        action, _, rest = tail.partition("/") if tail else ("revision", "", "main")
        revision = self._revision(kind, repo_id, rest or "main")
        if revision is None:
            return self._send(request, 404, b'{"error": "Revision not found"}', send_body,
                              {"X-Error-Code": "RevisionNotFound"})  # fmt: skip
        folder, commit, under = revision
        if action == "tree":
            recursive = "recursive=true" in query.lower() or "recursive=1" in query
            body = json.dumps(self._entries(folder, under, recursive)).encode()
        elif action == "paths-info":
            wanted = set(parse_qs(getattr(request, "posted", "")).get("paths", []))
            entries = [e for e in self._entries(folder) if e["path"] in wanted]
            body = json.dumps(entries).encode()
        else:
            files = [e["path"] for e in self._entries(folder) if e["type"] == "file"]
            body = json.dumps({
                "id": repo_id, "modelId": repo_id, "sha": commit, "private": False,
                "disabled": False, "gated": False, "tags": [], "library_name": "transformers",
                "siblings": [{"rfilename": name} for name in files],
            }).encode()  # fmt: skip
        self._send(request, 200, body, send_body, {"X-Repo-Commit": commit}, "application/json")

    @staticmethod
    def _send(request, status: int, body: bytes, send_body: bool, headers: dict[str, str],
              content_type: str = "application/json") -> None:  # fmt: skip
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            request.send_header(name, value)
        request.end_headers()
        if send_body:
            request.wfile.write(body)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any ``HF_*``, ``TRANSFORMERS_*`` or ``CH11_*`` setting,
    plus ``extra``."""
    prefixes = ("HF_", "TRANSFORMERS_", "CH11_")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(prefixes)}, **extra}


@contextlib.contextmanager
def hub_mode(
    tmp_path: Path, repos: Repos | None = None, datasets: Repos | None = None
) -> Iterator[tuple[LocalHub, dict[str, str], Path]]:
    """``(hub, env, netlog)``: a :class:`LocalHub` serving ``repos`` and ``datasets`` until the block
    ends, and the environment of a process in ``CH11_SOURCE=hub`` mode pointed at it (``HF_ENDPOINT``,
    an empty ``HF_HOME`` under ``tmp_path``), whose every connection beyond the loopback is blocked
    and written to ``netlog`` (:mod:`netblock`)."""
    hub = LocalHub(repos or {}, datasets=datasets)
    netlog = tmp_path / "network.log"
    env = clean_env(CH11_SOURCE="hub", HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"),
                    HF_HUB_DISABLE_XET="1", TQDM_DISABLE="1")  # fmt: skip
    env.update(netblock.blocker_env(tmp_path / "site", netlog))
    try:
        yield hub, env, netlog
    finally:
        hub.close()

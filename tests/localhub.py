"""A small Hugging Face hub on 127.0.0.1 for tests: model repositories served the way the hub does.

Point ``HF_ENDPOINT`` at :attr:`LocalHub.url` and the real download code of ``huggingface_hub`` and
``transformers`` runs against it: ``HEAD``/``GET /<repo>/resolve/<revision>/<file>`` with the hub's
headers (``X-Repo-Commit``, ``ETag``, ``X-Error-Code: EntryNotFound`` for a missing file) and the
``/api/models/<repo>[/revision/<rev>]`` and ``/api/models/<repo>/tree/<rev>`` listings. Nothing leaves
the loopback. Every request is recorded in :attr:`LocalHub.requests`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class LocalHub:
    """Serve ``repos`` (repository id -> folder of files) on 127.0.0.1 until :meth:`close`."""

    def __init__(self, repos: dict[str, Path]):
        self.repos = {repo_id: Path(folder) for repo_id, folder in repos.items()}
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_HEAD(self):
                hub._handle(self, send_body=False)

            def do_GET(self):
                hub._handle(self, send_body=True)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ----------------------------------------------------------------------------------------------

    def _split(self, path: str) -> tuple[str, str] | None:
        """``(repo_id, rest)`` for the longest known repository id ``path`` starts with."""
        for repo_id in sorted(self.repos, key=len, reverse=True):
            if path == repo_id or path.startswith(repo_id + "/"):
                return repo_id, path[len(repo_id) :].lstrip("/")
        return None

    def _files(self, repo_id: str) -> list[str]:
        folder = self.repos[repo_id]
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())

    def _handle(self, request: BaseHTTPRequestHandler, send_body: bool) -> None:
        path = unquote(urlparse(request.path).path).lstrip("/")
        self.requests.append((request.command, path))
        if path.startswith("api/models/"):
            return self._api(request, path.removeprefix("api/models/"), send_body)
        found = self._split(path)
        if found is None or not found[1].startswith("resolve/"):
            return self._send(request, 404, b'{"error": "Repository not found"}', send_body,
                              {"X-Error-Code": "RepoNotFound"})  # fmt: skip
        repo_id, rest = found
        _, _revision, filename = rest.split("/", 2)
        file = self.repos[repo_id] / filename
        headers = {"X-Repo-Commit": COMMIT}
        if not file.is_file():
            headers["X-Error-Code"] = "EntryNotFound"
            return self._send(request, 404, b'{"error": "Entry not found"}', send_body, headers)
        body = file.read_bytes()
        headers["ETag"] = f'"{hashlib.sha256(body).hexdigest()}"'
        self._send(request, 200, body, send_body, headers, "application/octet-stream")

    def _api(self, request, rest: str, send_body: bool) -> None:
        found = self._split(rest)
        if found is None:
            return self._send(request, 404, b'{"error": "Repository not found"}', send_body,
                              {"X-Error-Code": "RepoNotFound"})  # fmt: skip
        repo_id, tail = found
        files = self._files(repo_id)
        if tail.startswith("tree/"):
            listing = [
                {"type": "file", "path": name, "size": (self.repos[repo_id] / name).stat().st_size,
                 "oid": hashlib.sha1(name.encode()).hexdigest()}
                for name in files
            ]  # fmt: skip
            body = json.dumps(listing).encode()
        else:
            body = json.dumps({
                "id": repo_id, "modelId": repo_id, "sha": COMMIT, "private": False,
                "disabled": False, "gated": False, "tags": [], "library_name": "transformers",
                "siblings": [{"rfilename": name} for name in files],
            }).encode()  # fmt: skip
        self._send(request, 200, body, send_body, {"X-Repo-Commit": COMMIT}, "application/json")

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

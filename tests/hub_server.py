"""A loopback server speaking the Hugging Face Hub's download protocol, for offline tests.

It lets the real `huggingface_hub` client (`snapshot_download`, `hf_hub_download`) run end to
end against repositories held in memory (repo id -> revisions -> files), on 127.0.0.1 and a
free port. It implements what the client's downloads use (see docs in DESIGN.md section 4):

- `HEAD` / `GET /{repo}/resolve/{revision}/{path}`: 200 with `X-Repo-Commit` (40 hex),
  `ETag` (the sha256 of the file's true bytes, the blob's name in the cache) and
  `Content-Length`; a `Range: bytes=a-[b]` GET answers 206 with `Content-Range`;
- `GET /api/models/{repo}/revision/{revision}` -> `{"id", "sha", "siblings"}`;
- `GET /api/models/{repo}/tree/{revision}?recursive=true&expand=false` -> the file list;
- errors: 404 with `X-Error-Code: RepoNotFound`, `RevisionNotFound` or `EntryNotFound`
  (the last with `X-Repo-Commit`), as the Hub sends them. Any other request answers a bare
  404 and is recorded in `unhandled`, so a test can assert the client used nothing else.

Uploads (`HfApi.create_repo`, `create_branch`, `upload_folder`), every file committed inline:

- `POST /api/repos/create` -> `{"url"}`, 409 when the repo exists;
- `POST /api/models/{repo}/branch/{branch}`: a branch at the main branch's commit (409 if any);
- `POST /api/models/{repo}/preupload/{revision}` -> every file `"uploadMode": "regular"`;
- `POST /api/models/{repo}/commit/{revision}`: the NDJSON commit (header, `file` lines with
  base64 content, `deletedFile`) becomes a new commit on top of the revision's files;
- `POST /api/validate-yaml` -> no errors.

Fault switches, per repo and file: `corrupt` serves altered bytes of the same length under
the same ETag (what a faulty proxy or disk does); `truncate` sends the headers of the whole
file but only the first `keep` bytes of it, then closes the connection (for the next
`times` GETs, or all of them).

Example:

    with FakeHub() as hub:
        sha = hub.add_revision("alice/model", {"config.json": b"{}"})
        snapshot_download("alice/model", endpoint=hub.url, cache_dir=tmp_path)
"""

import base64
import hashlib
import http.server
import json
import pathlib
import re
import sys
import threading
import urllib.parse

_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_API_REVISION = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/revision/(?P<rev>[^/]+)$")
_API_TREE = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_API_BRANCH = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/branch/(?P<rev>[^/]+)$")
_API_PREUPLOAD = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/preupload/(?P<rev>[^/]+)$")
_API_COMMIT = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/commit/(?P<rev>[^/]+)$")


class FakeHub:
    """An in-memory Hub on a loopback port. Use as a context manager, or `start`/`close`."""

    def __init__(self):
        self._repos = {}  # repo id -> {"refs": {name: sha}, "commits": {sha: {path: bytes}}}
        self._corrupt = set()  # (repo id, path)
        self._truncate = {}  # (repo id, path) -> [keep bytes, GETs left or None for all]
        self._lock = threading.Lock()
        self.requests = []  # (method, raw path, Range header or None) of every request
        self.unhandled = []  # requests that the server does not implement
        self.errors = []  # exceptions raised while serving (bugs of this server)
        self._server = None
        self._thread = None

    # -- content ---------------------------------------------------------------------------

    def add_revision(self, repo_id, files, revision="main"):
        """Adds a commit holding `files` (path -> bytes) and points `revision` at it.

        Returns the commit's sha (40 hex). The commit is also reachable by its sha.
        """
        files = {str(path): bytes(data) for path, data in files.items()}
        digest = hashlib.sha1(repo_id.encode())
        for path in sorted(files):
            digest.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
        with self._lock:
            repo = self._repos.setdefault(repo_id, {"refs": {}, "commits": {}})
            digest.update(str(len(repo["commits"])).encode())
            sha = digest.hexdigest()
            repo["commits"][sha] = files
            repo["refs"][revision] = sha
        return sha

    def files(self, repo_id, revision="main"):
        """The files (path -> bytes) of `revision` of `repo_id`; KeyError if there is none."""
        found = self._lookup(repo_id, revision)
        if isinstance(found, str):
            raise KeyError(f"{repo_id}@{revision}: {found}")
        return found[1]

    def add_folder(self, repo_id, folder, revision="main", skip=()):
        """Adds a commit holding every file of `folder` (but `skip`); returns its sha."""
        folder = pathlib.Path(folder)
        files = {
            path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name not in skip
        }
        return self.add_revision(repo_id, files, revision=revision)

    def corrupt(self, repo_id, path, enabled=True):
        """Serve altered bytes (same length, same ETag) for `path` of `repo_id`."""
        with self._lock:
            (self._corrupt.add if enabled else self._corrupt.discard)((repo_id, path))

    def truncate(self, repo_id, path, keep, times=None):
        """Cut the next `times` GETs of `path` (all of them if None) after byte `keep` of the
        file: the headers announce the full length, the connection closes early."""
        with self._lock:
            self._truncate[(repo_id, path)] = [int(keep), times]

    def heal(self):
        """Turn every fault off."""
        with self._lock:
            self._corrupt.clear()
            self._truncate.clear()

    def download_count(self, path=None):
        """The number of file GETs served (of files named `path`, if given)."""
        return sum(
            1
            for method, raw, _ in self.requests
            if method == "GET"
            and "/resolve/" in raw
            and (path is None or urllib.parse.unquote(raw.split("?")[0]).endswith("/" + path))
        )

    # -- server ----------------------------------------------------------------------------

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        hub = self

        class Handler(_Handler):
            fake_hub = hub

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.fake_hub = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()

    # -- lookups (called by the handler) ---------------------------------------------------

    def _lookup(self, repo_id, revision):
        """(sha, files) or an error code."""
        with self._lock:
            repo = self._repos.get(repo_id)
            if repo is None:
                return "RepoNotFound"
            sha = revision if revision in repo["commits"] else repo["refs"].get(revision)
            if sha is None:
                return "RevisionNotFound"
            return sha, dict(repo["commits"][sha])

    def _fault(self, repo_id, path):
        """(corrupt, keep bytes or None) for one GET of `path`, consuming a truncation."""
        with self._lock:
            corrupt = (repo_id, path) in self._corrupt
            cut = self._truncate.get((repo_id, path))
            keep = None
            if cut is not None:
                keep, left = cut
                if left is not None:
                    cut[1] = left - 1
                    if cut[1] <= 0:
                        del self._truncate[(repo_id, path)]
            return corrupt, keep


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    fake_hub = None

    def handle_error(self, request, client_address):
        # A connection cut on purpose (truncate) or dropped by the client is not an error;
        # anything else is a bug of the server, kept for the test to see.
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            self.fake_hub.errors.append(repr(error))


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake_hub = None  # set by FakeHub.start

    def log_message(self, format, *args):  # silence the default stderr log
        pass

    def do_HEAD(self):
        self._dispatch(head=True)

    def do_GET(self):
        self._dispatch(head=False)

    def do_POST(self):
        hub = self.fake_hub
        hub.requests.append((self.command, self.path, None))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urllib.parse.urlsplit(self.path).path
        if path == "/api/repos/create":
            return self._create_repo(json.loads(body))
        if path == "/api/validate-yaml":
            return self._send_json({"errors": [], "warnings": []}, commit=None)
        for pattern, handler in (
            (_API_BRANCH, self._create_branch),
            (_API_PREUPLOAD, self._preupload),
            (_API_COMMIT, self._commit),
        ):
            if match := pattern.match(path):
                repo_id = urllib.parse.unquote(match["repo"])
                if repo_id not in hub._repos:
                    return self._error("RepoNotFound", head=False)
                return handler(repo_id, urllib.parse.unquote(match["rev"]), body)
        hub.unhandled.append((self.command, self.path))
        self._send(404, b"Not Found")

    # -- uploads ---------------------------------------------------------------------------

    def _create_repo(self, payload):
        hub = self.fake_hub
        name = payload["name"]
        repo_id = name if "/" in name else f"{payload.get('organization') or 'user'}/{name}"
        with hub._lock:
            if repo_id in hub._repos:
                return self._send(409, b"You already created this model repo")
            hub._repos[repo_id] = {"refs": {}, "commits": {}}
        self._send_json({"url": f"{hub.url}/{repo_id}", "name": repo_id}, commit=None)

    def _create_branch(self, repo_id, branch, body):
        hub = self.fake_hub
        with hub._lock:
            refs = hub._repos[repo_id]["refs"]
            if branch in refs:
                return self._send(409, b"Reference already exists")
            if "main" in refs:
                refs[branch] = refs["main"]
        self._send_json({}, commit=None)

    def _preupload(self, repo_id, revision, body):
        files = [
            {"path": entry["path"], "uploadMode": "regular", "shouldIgnore": False}
            for entry in json.loads(body)["files"]
        ]
        self._send_json({"files": files}, commit=None)

    def _commit(self, repo_id, revision, body):
        hub = self.fake_hub
        found = hub._lookup(repo_id, revision)
        files = {} if isinstance(found, str) else found[1]
        for line in body.decode().splitlines():
            item = json.loads(line)
            value = item["value"]
            if item["key"] == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif item["key"] == "deletedFile":
                files.pop(value["path"], None)
            elif item["key"] != "header":
                hub.unhandled.append((self.command, f"{self.path} {item['key']}"))
                return self._send(400, f"unsupported commit item {item['key']}".encode())
        sha = hub.add_revision(repo_id, files, revision=revision)
        url = f"{hub.url}/{repo_id}/commit/{sha}"
        self._send_json({"commitUrl": url, "commitOid": sha, "pullRequestUrl": None}, commit=sha)

    def _dispatch(self, head):
        hub = self.fake_hub
        hub.requests.append((self.command, self.path, self.headers.get("Range")))
        path = urllib.parse.urlsplit(self.path).path
        if match := _RESOLVE.match(path):
            return self._resolve(match, head)
        if not head and (match := _API_REVISION.match(path)):
            return self._api_revision(match)
        if not head and (match := _API_TREE.match(path)):
            return self._api_tree(match)
        hub.unhandled.append((self.command, self.path))
        self._send(404, b"Not Found", head=head)

    def _target(self, match, head):
        repo_id = urllib.parse.unquote(match["repo"])
        revision = urllib.parse.unquote(match["rev"])
        found = self.fake_hub._lookup(repo_id, revision)
        if isinstance(found, str):
            self._error(found, head=head)
            return None
        return repo_id, found

    def _resolve(self, match, head):
        target = self._target(match, head)
        if target is None:
            return
        repo_id, (sha, files) = target
        path = urllib.parse.unquote(match["path"])
        if path not in files:
            return self._error("EntryNotFound", head=head, commit=sha)
        data = files[path]
        headers = {
            "X-Repo-Commit": sha,
            "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
            "Accept-Ranges": "bytes",
        }
        if head:
            return self._send(200, b"", head=True, headers=headers, length=len(data))
        corrupt, keep = self.fake_hub._fault(repo_id, path)
        if corrupt:
            data = bytes(byte ^ 0xFF for byte in data)
        start, end, status = 0, len(data) - 1, 200
        range_header = self.headers.get("Range")
        if range_header and (ranged := _RANGE.match(range_header.strip())):
            start = int(ranged[1])
            end = min(int(ranged[2]), end) if ranged[2] else end
            if start >= len(data):
                return self._send(416, b"", headers={"Content-Range": f"bytes */{len(data)}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        body = data[start : end + 1]
        if keep is None:
            return self._send(status, body, headers=headers)
        # Announce the whole body, send what lies before byte `keep` of the file, hang up.
        self._send_headers(status, headers, len(body))
        self.wfile.write(body[: max(0, keep - start)])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(2)

    def _api_revision(self, match):
        target = self._target(match, head=False)
        if target is None:
            return
        repo_id, (sha, files) = target
        body = {"id": repo_id, "sha": sha, "siblings": [{"rfilename": p} for p in sorted(files)]}
        self._send_json(body, commit=sha)

    def _api_tree(self, match):
        target = self._target(match, head=False)
        if target is None:
            return
        _, (sha, files) = target
        entries = [
            {
                "type": "file",
                "path": path,
                "size": len(data),
                "oid": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
            }
            for path, data in sorted(files.items())
        ]
        self._send_json(entries, commit=sha)

    # -- responses -------------------------------------------------------------------------

    def _error(self, code, head, commit=None):
        headers = {"X-Error-Code": code, "X-Error-Message": code}
        if commit is not None:
            headers["X-Repo-Commit"] = commit
        self._send(404, code.encode(), head=head, headers=headers)

    def _send_json(self, value, commit):
        body = json.dumps(value).encode()
        headers = {"Content-Type": "application/json"}
        if commit is not None:
            headers["X-Repo-Commit"] = commit
        self._send(200, body, headers=headers)

    def _send(self, status, body, head=False, headers=None, length=None):
        self._send_headers(status, headers or {}, len(body) if length is None else length)
        if not head and body:
            self.wfile.write(body)

    def _send_headers(self, status, headers, length):
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()

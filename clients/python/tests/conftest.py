"""Fixtures: a real `vsdb serve` on 127.0.0.1:0 with a temporary store and root.

The binary is $VSDB_BIN, else built once per session with
`go build -o <tmp>/vsdb ./cmd/vsdb` from the repository root.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import vsdb

REPO = Path(__file__).resolve().parents[3]
READY = re.compile(r"vsdb: serving on (http://\S+)")
START_TIMEOUT = 30.0


@dataclass
class Server:
    url: str
    db: Path
    root: Path
    token: str | None
    proc: subprocess.Popen[str]
    stderr: list[str] = field(default_factory=list)

    def client(self, **kw: object) -> vsdb.Client:
        kw.setdefault("token", self.token)
        return vsdb.connect(self.url, **kw)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def vsdb_bin(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = os.environ.get("VSDB_BIN")
    if path:
        return str(Path(path).resolve())
    go = shutil.which("go")
    if go is None:
        pytest.skip("no VSDB_BIN and no go to build one")
    out = tmp_path_factory.mktemp("bin") / "vsdb"
    subprocess.run([go, "build", "-o", str(out), "./cmd/vsdb"], cwd=REPO, check=True)
    return str(out)


def start_server(binary: str, base: Path, token: str | None = None, env_token: bool = False,
                 extra: list[str] | None = None) -> Server:
    db, root = base / "db", base / "root"
    db.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    args = [binary, "serve", "--db", str(db), "--root", str(root), "--addr", "127.0.0.1:0", *(extra or [])]
    env = {k: v for k, v in os.environ.items() if k != "VSDB_TOKEN"}
    if token is not None:
        if env_token:
            env["VSDB_TOKEN"] = token
        else:
            args += ["--token", token]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def drain() -> None:  # read stderr to the end so the server never blocks on it
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            m = READY.search(line)
            if m and not found:
                found.append(m.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT
    while not ready.wait(0.05):
        if time.monotonic() > deadline:
            break
    if not found:
        proc.kill()
        proc.wait()
        raise RuntimeError("vsdb serve did not start:\n" + "\n".join(lines))
    return Server(found[0], db, root, token, proc, lines)


@pytest.fixture
def server_factory(vsdb_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def make(token: str | None = None, env_token: bool = False, extra: list[str] | None = None) -> Server:
        s = start_server(vsdb_bin, tmp_path_factory.mktemp("serve"), token, env_token, extra)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@pytest.fixture(scope="module")
def server(vsdb_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start_server(vsdb_bin, tmp_path_factory.mktemp("serve"))
    yield s
    s.stop()


@pytest.fixture
def db(server: Server) -> vsdb.Client:
    return server.client()

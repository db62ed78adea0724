#!/usr/bin/env python3
"""Runs docs/notebooks/quickstart.ipynb against a real `vsdb serve`.

    python scripts/notebook.py VSDB_BINARY [--model PATH] [--notebook NB] [--out EXECUTED.ipynb]

Starts VSDB_BINARY serve on 127.0.0.1 (a free port) with a temporary
--db and --root = the model's folder, executes the notebook with nbclient
in a kernel of this interpreter (so run it with the project's .venv python,
where the vsdb client and the notebook's packages are installed), then
stops the server. Exits nonzero if the server does not start or any cell
fails. --model defaults to $MODEL_DIR/model.safetensors (scripts/model.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"vsdb: serving on (http://\S+)")


def start_server(binary: str, db: Path, root: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str, list[str]]:
    proc = subprocess.Popen(
        [binary, "serve", "--db", str(db), "--root", str(root), "--addr", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )
    lines: list[str] = []
    url: list[str] = []
    ready = threading.Event()

    def drain() -> None:  # keep reading so the server never blocks on stderr
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            m = READY.search(line)
            if m and not url:
                url.append(m.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    ready.wait(30)
    if not url:
        proc.kill()
        proc.wait()
        sys.exit("notebook.py: vsdb serve did not start:\n" + "\n".join(lines))
    return proc, url[0], lines


def stop_server(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def kernel_dir(tmp: Path) -> Path:
    """A kernelspec 'python3' running this interpreter, found before any other."""
    spec = tmp / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (vsdb)",
        "language": "python",
    }))
    return tmp


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", help="the vsdb binary")
    ap.add_argument("--model", help="the checkpoint (default: $MODEL_DIR/model.safetensors)")
    ap.add_argument("--notebook", default=str(ROOT / "docs/notebooks/quickstart.ipynb"))
    ap.add_argument("--out", help="also write the executed notebook here")
    ap.add_argument("--timeout", type=int, default=600, help="seconds one cell may take")
    args = ap.parse_args()

    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    model = args.model
    if not model:
        if not os.environ.get("MODEL_DIR"):
            sys.exit("notebook.py: give --model or set MODEL_DIR (source scripts/model.sh)")
        model = os.path.join(os.environ["MODEL_DIR"], "model.safetensors")
    model_path = Path(model).resolve()
    if not model_path.is_file():
        sys.exit(f"notebook.py: no checkpoint at {model_path}")
    binary = shutil.which(args.binary) or args.binary

    with tempfile.TemporaryDirectory(prefix="vsdb-notebook-") as tmpname:
        tmp = Path(tmpname)
        env = {k: v for k, v in os.environ.items() if k not in ("VSDB_TOKEN", "VSDB_DB")}
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        proc, url, log = start_server(binary, tmp / "db", model_path.parent, env)
        os.environ.update({
            "VSDB_URL": url,
            "VSDB_MODEL": model_path.name,  # relative: resolved under the server's root
            "JUPYTER_PLATFORM_DIRS": "1",
        })
        os.environ.pop("VSDB_TOKEN", None)
        try:
            nb = nbformat.read(args.notebook, as_version=4)
            ksm = KernelSpecManager(kernel_dirs=[str(kernel_dir(tmp / "jupyter") / "kernels")])
            km = KernelManager(kernel_name="python3", kernel_spec_manager=ksm)
            client = NotebookClient(
                nb, km=km, timeout=args.timeout, kernel_name="python3",
                resources={"metadata": {"path": str(Path(args.notebook).resolve().parent)}},
            )
            start = time.monotonic()
            try:
                client.execute()
            except CellExecutionError as e:
                print(f"notebook.py: a cell of {args.notebook} failed:\n{e}", file=sys.stderr)
                return 1
            finally:
                if args.out:
                    nbformat.write(nb, args.out)
            cells = sum(1 for c in nb.cells if c.cell_type == "code")
            print(f"notebook.py: {args.notebook}: {cells} code cells ran in {time.monotonic() - start:.1f}s "
                  f"against {url}")
        finally:
            stop_server(proc)
            if proc.returncode not in (0, -15):
                print("notebook.py: vsdb serve exited with status "
                      f"{proc.returncode}:\n" + "\n".join(log), file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

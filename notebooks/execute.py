"""Executes notebooks with nbclient, failing on the first cell that raises.

    python notebooks/execute.py --out target/notebooks notebooks/quickstart.ipynb ...

Each notebook runs in its own folder (paths in it are relative to notebooks/) and is written,
with its outputs, to --out.
"""

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="folder for the executed copies")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb,
            timeout=args.timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.resolve().parent)}},
        )
        start = time.monotonic()
        try:
            client.execute()
        except CellExecutionError as e:
            nbformat.write(nb, args.out / path.name)
            print(f"{path}: a cell failed (executed copy in {args.out / path.name}):\n{e}",
                  file=sys.stderr)
            return 1
        nbformat.write(nb, args.out / path.name)
        print(f"{path}: executed in {time.monotonic() - start:.1f} s -> {args.out / path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

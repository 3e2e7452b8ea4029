"""Run localstripe for development and tests on 127.0.0.1 only.

localstripe's own command listens on every interface and saves its objects to
/tmp/localstripe.pickle, which other runs then load. This starts the same application
on one local address with its store in memory only, or, with ``--store``, saved to and
loaded from a file of the caller's choice (the demo keeps its cards across restarts).

    .venv/bin/python scripts/run_localstripe.py --port 8420
    .venv/bin/python scripts/run_localstripe.py --port 8420 --store var/localstripe.pickle
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path
from typing import Any

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    parser.add_argument("--port", type=int, default=8420, help="Port to listen on.")
    parser.add_argument(
        "--store", type=Path, help="File that keeps the Stripe objects; default: memory only."
    )
    args = parser.parse_args()
    # NOTE: replaces a method of localstripe 1.15's store; check it after an upgrade.
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    if args.store is not None:
        _keep_store_in(args.store)
    web.run_app(server.app, host=args.host, port=args.port, print=None)


def _keep_store_in(path: Path) -> None:
    """Load the store from ``path`` if it exists, and write it there after every change."""
    if path.exists():
        with path.open("rb") as saved:
            resources.store.update(pickle.load(saved))  # noqa: S301 - our own file

    def dump(store: Any) -> None:
        partial = path.with_suffix(".partial")
        with partial.open("wb") as target:
            pickle.dump(dict(store), target, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(path)

    resources.Store.dump_to_disk = dump  # type: ignore[method-assign]


if __name__ == "__main__":
    main()

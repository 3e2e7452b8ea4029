"""Run localstripe for development and tests on 127.0.0.1 only, keeping nothing on disk.

localstripe's own command listens on every interface and saves its objects to
/tmp/localstripe.pickle, which other runs then load. This starts the same application
on one local address with its store in memory only.

    .venv/bin/python scripts/run_localstripe.py --port 8420
"""

from __future__ import annotations

import argparse

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    parser.add_argument("--port", type=int, default=8420, help="Port to listen on.")
    args = parser.parse_args()
    # NOTE: replaces a method of localstripe 1.15's store; check it after an upgrade.
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    web.run_app(server.app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()

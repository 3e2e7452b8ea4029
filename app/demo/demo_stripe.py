"""The demo's own Stripe: localstripe on 127.0.0.1, for a demo with no Stripe account.

``upm demo`` starts it on a free port unless ``UPM_STRIPE_SECRET_KEY`` is set, points
its own process at it (``UPM_STRIPE_*``), and writes the address to ``demo-stripe.json``
so that ``upm sim call`` finds the same Stripe. localstripe's objects are saved in
``localstripe.pickle``, so saved cards survive a restart. Both files live next to the
demo's SQLite database (``var/`` by default), or in ``var/`` with the database's name in
theirs for PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from app.settings import PROJECT_ROOT, Settings, get_settings

log = logging.getLogger(__name__)

LOCALSTRIPE_SCRIPT = PROJECT_ROOT / "scripts" / "run_localstripe.py"
STATE_FILE = "demo-stripe.json"
STORE_FILE = "localstripe.pickle"
#: localstripe accepts any key of the right form; these name the demo in its logs.
SECRET_KEY = "sk_test_upm_demo"  # noqa: S105 - not a secret: localstripe takes any key
PUBLISHABLE_KEY = "pk_test_upm_demo"
START_SECONDS = 20.0


@dataclass(frozen=True)
class DemoStripe:
    """The address of the demo's Stripe and the keys the app uses with it."""

    api_base: str
    secret_key: str = SECRET_KEY
    publishable_key: str = PUBLISHABLE_KEY

    @property
    def settings(self) -> dict[str, str]:
        """The environment that points the app at this Stripe."""
        return {
            "UPM_STRIPE_SECRET_KEY": self.secret_key,
            "UPM_STRIPE_PUBLISHABLE_KEY": self.publishable_key,
            "UPM_STRIPE_API_BASE": self.api_base,
            # localstripe serves its own stand-in for Stripe.js, so the card page works too.
            "UPM_STRIPE_JS_URL": f"{self.api_base}/js.stripe.com/v3/",
        }


def demo_folder(settings: Settings) -> Path:
    """Return the folder of the demo's files: the SQLite database's, else ``var/``."""
    url = make_url(settings.database_url)
    if _sqlite_file(settings):
        return Path(str(url.database)).resolve().parent
    return PROJECT_ROOT / "var"


def demo_files(settings: Settings) -> tuple[Path, Path]:
    """Return the demo's Stripe address file and localstripe store for this database.

    Next to a SQLite file the names are plain. In ``var/`` they carry the PostgreSQL
    database's name, so two databases never share one store.
    """
    folder = demo_folder(settings)
    if _sqlite_file(settings):
        return folder / STATE_FILE, folder / STORE_FILE
    name = make_url(settings.database_url).database or "default"
    return (
        folder / f"demo-stripe-{name}.json",
        folder / f"localstripe-{name}.pickle",
    )


def _sqlite_file(settings: Settings) -> bool:
    url = make_url(settings.database_url)
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")


@contextmanager
def demo_stripe(settings: Settings) -> Iterator[DemoStripe | None]:
    """Run localstripe for the duration of the block unless Stripe is configured.

    Yields the demo's Stripe, with ``UPM_STRIPE_*`` set for this process only, or None
    when the settings already name a Stripe. The process and the state file go at exit.
    """
    if settings.stripe_secret_key:
        yield None
        return
    state, store = demo_files(settings)
    state.parent.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - our interpreter and script, no input
        [
            sys.executable,
            str(LOCALSTRIPE_SCRIPT),
            "--port",
            str(port),
            "--store",
            str(store),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    saved = {name: os.environ.get(name) for name in DemoStripe("").settings}
    try:
        _wait_for(port, process)
        stripe = DemoStripe(api_base=f"http://127.0.0.1:{port}")
        os.environ.update(stripe.settings)
        get_settings.cache_clear()
        state.write_text(json.dumps(asdict(stripe)) + "\n")
        log.info("demo Stripe (localstripe) listening on %s, pid %s", stripe.api_base, process.pid)
        yield stripe
    finally:
        state.unlink(missing_ok=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def running_demo_stripe(settings: Settings) -> DemoStripe | None:
    """Return the Stripe a running ``upm demo`` started, or None when none is listening."""
    state, _ = demo_files(settings)
    try:
        stripe = DemoStripe(**json.loads(state.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    port = int(stripe.api_base.rsplit(":", 1)[-1])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return stripe
    except OSError:
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"localstripe exited with status {process.returncode} before it listened; "
                f"run {LOCALSTRIPE_SCRIPT} --port {port} to see why"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"localstripe did not listen on 127.0.0.1:{port} within {START_SECONDS} s")

"""Twilio webhook benchmark: signed SMS and voice requests at a constant arrival rate.

    .venv/bin/python bench/twilio_webhooks.py --rate 200 --seconds 30 \
        --database-url postgresql://postgres@127.0.0.1:5432/upm_bench_twilio

The database is dropped and rebuilt: N water, sewer and trash households billed for one
month (``bench/bill_run_bench.py``'s seed and bill run), each with its own verified
mobile number. The app then runs under uvicorn on 127.0.0.1 in a process of its own.
Its Celery tasks go to Redis and no worker consumes them, so the time is the webhook's
own. This process drives the app open-loop: request i is due at ``start + i / rate``
whatever happened to the earlier ones. Its latency runs from that due time to the last
byte of the response, so a slow server cannot slow the arrivals down (no coordinated
omission).

Half of the requests are texts: BAL, SALDO, HELP and PAY from verified numbers, and BAL
from numbers on no account. The other half are calls from verified numbers, each played
with the call simulator's TwiML player: the first webhook, then the Gather actions for
English, the offered account and the balance, until the call hangs up or the script
runs out, then the status callback. A call's next request waits for a free voice slot,
so voice requests arrive at the same constant rate. Every request is signed with the
SDK's ``RequestValidator`` when its slot comes, which takes microseconds; the report's
``generator_lag`` is how late requests left this process. The first ``--warmup`` seconds
are driven but not counted. ``app_cpu_ms_per_request`` is the CPU time of the uvicorn
processes divided by the requests sent, warm-up included, and
``generator_cpu_ms_per_request`` the same for this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402  (installed with localstripe, a development dependency)
from twilio.request_validator import RequestValidator  # noqa: E402

from app.demo.twiml_player import (  # noqa: E402
    Card,
    ConnectorOutcome,
    Entry,
    GatherPrompt,
    Heard,
    NextRequest,
    PayPrompt,
    play_document,
)
from bench.bill_run_bench import bill, reset_database, seed  # noqa: E402

AUTH_TOKEN = "bench-auth-token"
ACCOUNT_SID = "AC" + "0" * 32
BILLING_NUMBER = "+15550100000"
#: Keys each call presses: English, the account offered for the caller ID, the balance.
CALL_KEYS = ("1", "1", "1")
SMS_BODIES = ("BAL", "SALDO", "HELP", "PAY", "BAL")
#: One slot in this many texts comes from a number on no account.
UNKNOWN_SHARE = 5
TIMEOUT_SECONDS = 10.0


def phone_of(index: int) -> str:
    """Return the bench's verified mobile number ``index``: area code 555 is not in service."""
    return f"+1555{index:07d}"


def add_phones(url: str, count: int) -> int:
    """Give the first ``count`` accounts a verified mobile number each; return how many."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from app.accounts.models import Account, Contact, ContactKind
    from app.bulk import insert_rows
    from app.db import make_engine, utcnow
    from app.demo.seed import IdAllocator

    engine = make_engine(url)
    with Session(engine) as session:
        ids = session.scalars(select(Account.id).order_by(Account.number).limit(count)).all()
        allocator = IdAllocator(session)
        now = utcnow()
        insert_rows(
            session,
            Contact,
            [
                {
                    "id": contact_id,
                    "account_id": account_id,
                    "kind": ContactKind.PHONE,
                    "value": phone_of(index),
                    "label": "mobile",
                    "verified": True,
                    "verified_at": now,
                }
                for index, (contact_id, account_id) in enumerate(
                    zip(allocator.take(Contact, len(ids)), ids, strict=True)
                )
            ],
        )
        allocator.sync_sequences()
        session.commit()
    engine.dispose()
    return len(ids)


def prepare(url: str, accounts: int) -> None:
    from app.settings import get_settings

    # Tasks the bill run queues run in this process and open the configured database.
    # They store the bill-ready texts and log each as not sent, which is noise here.
    os.environ["UPM_DATABASE_URL"] = url
    get_settings.cache_clear()
    logging.getLogger("app.messaging").setLevel(logging.ERROR)
    reset_database(url)
    started = time.perf_counter()
    seed(url, accounts)
    billed = bill(url, 1000)
    phones = add_phones(url, accounts)
    print(
        f"seeded and billed {billed['bills']:,} accounts with {phones:,} verified phones "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def start_server(url: str, redis_url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    environment = dict(os.environ)
    environment.update(
        {
            "UPM_DATABASE_URL": url,
            "UPM_REDIS_URL": redis_url,
            "UPM_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "UPM_TWILIO_FROM_NUMBER": BILLING_NUMBER,
            "UPM_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "UPM_LOG_LEVEL": "WARNING",
        }
    )
    environment.pop("UPM_TWILIO_ACCOUNT_SID", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=environment,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"uvicorn did not listen on 127.0.0.1:{port} within 60 s")


class ScriptedCaller:
    """A caller who presses the script's keys in order and hangs up when they run out."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = list(keys)

    def hear(self, line: Heard) -> None:
        pass

    def answer(self, prompt: GatherPrompt) -> Entry:
        return Entry.parse(self.keys.pop(0) if self.keys else "hangup")

    def card_number(self, prompt: PayPrompt) -> Entry:
        return Entry(hung_up=True)


class NoConnector:
    def process(self, prompt: PayPrompt, card: Card) -> ConnectorOutcome:
        return ConnectorOutcome(error="the benchmark charges no cards", error_code="bench")


@dataclass
class Call:
    sid: str
    phone: str
    caller: ScriptedCaller
    next: NextRequest | None
    first: bool = True
    done: bool = False


@dataclass
class Sample:
    kind: str
    path: str
    due: float
    started: float
    finished: float
    status: int
    error: str | None = None


@dataclass
class Load:
    """The open-loop generator: due times, the calls in progress and the samples taken."""

    base: str
    rate: float
    seconds: float
    accounts: int
    samples: list[Sample] = field(default_factory=list)
    ready_calls: deque[Call] = field(default_factory=deque)
    next_phone: int = 0
    validator: RequestValidator = field(default_factory=lambda: RequestValidator(AUTH_TOKEN))

    def signed(self, path: str, form: dict[str, str]) -> dict[str, str]:
        return {
            "X-Twilio-Signature": self.validator.compute_signature(self.base + path, form),
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def phone(self) -> str:
        self.next_phone = (self.next_phone + 1) % self.accounts
        return phone_of(self.next_phone)

    def text(self, slot: int) -> tuple[str, dict[str, str]]:
        unknown = slot % UNKNOWN_SHARE == 0
        sender = f"+1555{9_000_000 + slot % 1_000_000:07d}" if unknown else self.phone()
        return "/twilio/sms", {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": ACCOUNT_SID,
            "From": sender,
            "To": BILLING_NUMBER,
            "NumMedia": "0",
            "Body": SMS_BODIES[(slot // 2) % len(SMS_BODIES)],
        }

    def voice(self) -> tuple[str, dict[str, str], Call]:
        call = self.ready_calls.popleft() if self.ready_calls else None
        if call is None:
            call = Call(
                "CA" + uuid.uuid4().hex,
                self.phone(),
                ScriptedCaller(CALL_KEYS),
                NextRequest(self.base + "/twilio/voice", "POST", {}),
            )
        assert call.next is not None
        form = {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": call.sid,
            "CallStatus": "ringing" if call.first else "in-progress",
            "Direction": "inbound",
            "From": call.phone,
            "Caller": call.phone,
            "To": BILLING_NUMBER,
            "Called": BILLING_NUMBER,
            **call.next.params,
        }
        if call.done:
            form.update(CallStatus="completed", CallDuration="42")
        call.first = False
        return urlsplit(call.next.url).path + _query(call.next.url), form, call

    def after_voice(self, call: Call, status: int, body: str) -> None:
        """Queue the call's next request: a Gather action, a Redirect or the status callback."""
        if call.done or status != 200:
            return
        turn = play_document(body, call.next.url if call.next else "", call.caller, NoConnector())
        if turn.next is not None and turn.ended is None:
            call.next = turn.next
        else:
            call.next = NextRequest(self.base + "/twilio/voice/status", "POST", {})
            call.done = True
        self.ready_calls.append(call)

    async def send(self, client: aiohttp.ClientSession, slot: int, due: float) -> None:
        call: Call | None = None
        if slot % 2 == 0:
            kind, (path, form) = "sms", self.text(slot)
        else:
            path, form, call = self.voice()
            kind = "voice"
        headers = self.signed(path, form)
        started = time.perf_counter()
        status, body, error = 0, "", None
        try:
            async with client.post(
                self.base + path, data=urlencode(form), headers=headers
            ) as response:
                body = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as failure:
            error = type(failure).__name__
        finished = time.perf_counter()
        if status not in (200, 204) and error is None:
            error = f"HTTP {status}: {body[:120]}"
        route = urlsplit(path).path
        self.samples.append(Sample(kind, route, due, started, finished, status, error))
        if call is not None:
            self.after_voice(call, status, body)

    async def run(self, total_seconds: float) -> float:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as client:
            tasks = []
            start = time.perf_counter() + 0.5
            for slot in range(int(total_seconds * self.rate)):
                due = start + slot / self.rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self.send(client, slot, due)))
            await asyncio.gather(*tasks)
        return start


def _query(url: str) -> str:
    query = urlsplit(url).query
    return f"?{query}" if query else ""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def summarize(samples: list[Sample], counted_from: float, seconds: float) -> dict[str, Any]:
    counted = [s for s in samples if s.due >= counted_from]
    result: dict[str, Any] = {
        "requests": len(counted),
        "rate_per_second": round(len(counted) / seconds, 1),
    }
    for kind in ("all", "sms", "voice"):
        chosen = [s for s in counted if kind == "all" or s.kind == kind]
        latency = [(s.finished - s.due) * 1000 for s in chosen]
        result[kind] = {
            "requests": len(chosen),
            "errors": sum(1 for s in chosen if s.error),
            "p50_ms": round(percentile(latency, 0.50), 1),
            "p95_ms": round(percentile(latency, 0.95), 1),
            "p99_ms": round(percentile(latency, 0.99), 1),
            "max_ms": round(max(latency, default=0.0), 1),
            "mean_ms": round(statistics.fmean(latency), 1) if latency else 0.0,
        }
    lag = [(s.started - s.due) * 1000 for s in counted]
    result["generator_lag_p99_ms"] = round(percentile(lag, 0.99), 1)
    errors: dict[str, int] = {}
    for sample in counted:
        if sample.error:
            errors[sample.error] = errors.get(sample.error, 0) + 1
    result["error_kinds"] = dict(sorted(errors.items(), key=lambda item: -item[1])[:10])
    paths: dict[str, int] = {}
    for sample in counted:
        paths[sample.path] = paths.get(sample.path, 0) + 1
    result["requests_by_path"] = dict(sorted(paths.items(), key=lambda item: -item[1]))
    return result


def cpu_seconds(pid: int) -> float:
    """Return the CPU seconds used by ``pid`` and its live children (uvicorn's workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        # utime and stime are the 14th and 15th fields of /proc/PID/stat.
        total += (int(fields[11]) + int(fields[12])) / ticks
        pending.extend(int(child) for child in children)
    return total


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "load_average_before": [round(value, 2) for value in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/upm_bench_twilio"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument(
        "--accounts", type=int, default=5000, help="Households to seed, each with a verified phone."
    )
    parser.add_argument("--rate", type=float, default=200.0, help="Requests per second.")
    parser.add_argument("--seconds", type=float, default=30.0, help="Measured seconds.")
    parser.add_argument("--warmup", type=float, default=5.0, help="Seconds driven, not counted.")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes.")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument(
        "--skip-seed", action="store_true", help="Reuse the database of an earlier run."
    )
    options = parser.parse_args()

    if not options.skip_seed:
        prepare(options.database_url, options.accounts)
    about = machine()
    server = start_server(options.database_url, options.redis_url, options.port, options.workers)
    try:
        load = Load(
            f"http://127.0.0.1:{options.port}", options.rate, options.seconds, options.accounts
        )
        cpu_before = cpu_seconds(server.pid)
        generator_before = time.process_time()
        start = asyncio.run(load.run(options.warmup + options.seconds))
        app_cpu = cpu_seconds(server.pid) - cpu_before
        generator_cpu = time.process_time() - generator_before
    finally:
        server.terminate()
        server.wait(timeout=30)
        _flush_redis(options.redis_url)
    result = summarize(load.samples, start + options.warmup, options.seconds)
    # The CPU time covers the warm-up too, so it is divided by every request sent.
    sent = max(1, len(load.samples))
    result["app_cpu_ms_per_request"] = round(1000 * app_cpu / sent, 2)
    result["generator_cpu_ms_per_request"] = round(1000 * generator_cpu / sent, 2)
    result["load_average_after"] = [round(value, 2) for value in os.getloadavg()]
    result["machine"] = about
    result["settings"] = {
        "rate": options.rate,
        "seconds": options.seconds,
        "warmup": options.warmup,
        "workers": options.workers,
        "accounts": options.accounts,
    }
    print(json.dumps(result, indent=2))


def _flush_redis(url: str) -> None:
    """Drop the tasks the run queued; the database number is the benchmark's own."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.RedisError as error:
        print(f"could not flush {url}: {error}", file=sys.stderr)
    finally:
        client.close()


if __name__ == "__main__":
    main()

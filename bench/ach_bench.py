"""Time reading and writing 100,000-entry NACHA files with ``app.payments.ach``.

* read: ``read_ach`` on the moov-io/ach performance file (200 batches, 100,199 credit
  entries, 9.6 MB unpacked). Unpacking the gzip file is outside the timing.
* validate: ``validate_ach`` on the parsed file.
* write: ``write_ppd_debits`` of 100,000 PPD debits from a generator, to bytes.
* stream: ``iter_ppd_debits`` of the same entries, written to a temporary file.

Each time is the median of ``--repeat`` runs without tracing. Peak memory is measured
in one more run under ``tracemalloc``, which slows the code, so that run is not timed.
It counts Python allocations made during the call, including the returned value.
Run: ``.venv/bin/python bench/ach_bench.py [--repeat N] [--entries N]``.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

from app.payments.ach import (
    DebitBatch,
    DebitEntry,
    Originator,
    iter_ppd_debits,
    read_ach,
    validate_ach,
    write_ppd_debits,
)

ROOT = Path(__file__).resolve().parent.parent
LARGE = ROOT / "tests/data/payments/nacha/moov-ach_large_PPD-200-batches-100000-entries.ach.gz"
ORIGINATOR = Originator(
    odfi_routing_number="231380104",
    odfi_name="First Bank of Riverbend",
    company_name="Riverbend Water",
    company_id="1234567890",
)
CREATED_AT = datetime(2026, 12, 4, 15, 30)
ROUTING_NUMBERS = ("021200025", "091050234", "121042882", "231380104")


def debit_entries(count: int) -> Iterator[DebitEntry]:
    for number in range(count):
        yield DebitEntry(
            ROUTING_NUMBERS[number % len(ROUTING_NUMBERS)],
            f"{number:010d}",
            1000 + number % 7919,
            f"Customer {number}",
            f"ACCT-{number}",
        )


def batches(count: int) -> list[DebitBatch]:
    return [DebitBatch(debit_entries(count), date(2026, 12, 7))]


def stream_to_file(count: int) -> None:
    records = iter_ppd_debits(ORIGINATOR, batches(count), created_at=CREATED_AT)
    with tempfile.TemporaryFile() as output:
        for record in records:
            output.write(record)


def measure(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Return the median seconds of ``repeat`` runs and the traced peak in MB of one more."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case (median kept)")
    parser.add_argument("--entries", type=int, default=100_000, help="debits to write")
    options = parser.parse_args()

    data = gzip.decompress(LARGE.read_bytes())
    parsed = read_ach(data)
    entry_count = sum(len(batch.entries) for batch in parsed.batches)
    cases: list[tuple[str, Callable[[], object]]] = [
        (f"read ({entry_count:,} entries)", lambda: read_ach(data)),
        ("validate", lambda: validate_ach(parsed)),
        (
            f"write to bytes ({options.entries:,} debits)",
            lambda: write_ppd_debits(ORIGINATOR, batches(options.entries), created_at=CREATED_AT),
        ),
        (f"stream to a file ({options.entries:,} debits)", lambda: stream_to_file(options.entries)),
    ]

    print(f"{'case':<40} {'median s':>9} {'peak MB':>9}")
    for name, run in cases:
        seconds, peak_mb = measure(run, options.repeat)
        print(f"{name:<40} {seconds:>9.2f} {peak_mb:>9.2f}")
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS: {max_rss_mb:.0f} MB (all cases, input file included)")


if __name__ == "__main__":
    main()

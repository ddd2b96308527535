"""``make bench``: run every benchmark, each in its own process, and print one table of the
figures that have targets (ratios against a baseline measured in the same run, query counts).

    .venv/bin/python bench/run.py [auth] [delivery] [pages] [peers] [listen] [scale]

Each benchmark's own output is shown as it runs; bench/README.md says what each number means.
Benchmarks run against a database named ``fibe_bench`` on the server of DATABASE_URL (their
throwaway databases are derived from it), never the one a test run is using.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/fibe_access"


@dataclass
class Figure:
    bench: str
    what: str
    value: float | None
    target: str
    ok: bool | None  # None: no target, or no figure (the benchmark failed or did not print it)

    def row(self) -> str:
        shown = "—" if self.value is None else f"{self.value:.3g}"
        verdict = {True: "PASS", False: "MISS", None: "n/a" if self.value is None else "info"}[
            self.ok
        ]
        return f"{self.bench:<9}{self.what:<58}{shown:>10}  {self.target:<10}{verdict}"


def _number(pattern: str, text: str, group: int = 1) -> float | None:
    match = re.search(pattern, text)
    return float(match.group(group)) if match else None


def _figure(bench, what, value, target, check=None) -> Figure:
    """``check`` None: a figure shown for context, with no target."""
    ok = None if value is None or check is None else bool(check(value))
    return Figure(bench, what, value, target, ok)


def auth_figures(out: str) -> list[Figure]:
    return [
        _figure(
            "auth",
            "authenticated / unauthenticated req/s (same view)",
            _number(r"ratio ([\d.]+) \(target", out),
            ">= 0.90",
            lambda v: v >= 0.90,
        ),
        _figure(
            "auth",
            "queries added by authentication per request",
            _number(r"queries added by auth ([-\d.]+)", out),
            "<= 1",
            lambda v: v <= 1,
        ),
        _figure(
            "auth",
            "writes in steady state (per 100 requests)",
            _number(r"writes in steady state (\d+)", out),
            "0",
            lambda v: v == 0,
        ),
    ]


def delivery_figures(out: str) -> list[Figure]:
    return [
        _figure(
            "delivery",
            "deliveries/s / raw requests.Session POST/s",
            _number(r"ours / raw = ([\d.]+)", out),
            ">= 0.5",
            lambda v: v >= 0.5,
        ),
        _figure(
            "delivery",
            "10 events × 200 endpoints of one account / raw POST/s",
            _number(r"many endpoints / raw = ([\d.]+)", out),
            ">= 0.7",
            lambda v: v >= 0.7,
        ),
        _figure(
            "delivery",
            "publish → receipt p50 (ms), worker keeping up",
            _number(r"p50 ([\d.]+) ms", out),
            "<= 50",
            lambda v: v <= 50,
        ),
        _figure(
            "delivery", "publish → receipt p99 (ms)", _number(r"p99 ([\d.]+) ms", out), "(shown)"
        ),
        _figure(
            "delivery",
            "publish of a 500-endpoint fan-out, in transaction (ms)",
            _number(r"publish ([\d.]+) ms in the transaction", out),
            "<= 100",
            lambda v: v <= 100,
        ),
        _figure(
            "delivery",
            "queries for that publish (constant in endpoints)",
            _number(r"(\d+) queries;", out),
            "<= 5",
            lambda v: v <= 5,
        ),
    ]


def pages_figures(out: str) -> list[Figure]:
    line = next((x for x in out.splitlines() if x.startswith("BENCH-JSON ")), None)
    got = json.loads(line.removeprefix("BENCH-JSON ")) if line else {}

    def flat(name: str, key: str, target: float = 1.5) -> Figure:
        return _figure("pages", name, got.get(key), f"<= {target}", lambda v: v <= target)

    return [
        _figure(
            "pages",
            "keys page queries: 500 keys − 10 keys",
            got.get("keys_queries_500_minus_10"),
            "0",
            lambda v: v == 0,
        ),
        flat("keys page time: 500 keys / 10 keys", "keys_time_500_over_10"),
        flat("keys page bytes: 500 keys / 10 keys", "keys_bytes_500_over_10", 2),
        _figure(
            "pages", "keys page time: 200 keys / 1 key", got.get("keys_time_200_over_1"), "(shown)"
        ),
        _figure(
            "pages",
            "delivery log queries: 5000 − 1 deliveries",
            got.get("log_queries_5000_minus_1"),
            "0",
            lambda v: v == 0,
        ),
        flat("delivery log time: 5000 / 10 deliveries", "log_time_5000_over_10"),
        flat("delivery log deep page: 5000 / 10 deliveries", "log_deep_time_5000_over_10"),
        flat("delivery log time: 5000 / 1 delivery", "log_time_5000_over_1", 2),
        flat("security log time: 5000 / 10 rows", "security_time_big_over_10"),
        flat("security log deep page: 5000 / 10 rows", "security_deep_time_big_over_10"),
        flat("key activity time: 20000 / 10 rows", "activity_time_big_over_10"),
    ]


def peers_figures(out: str) -> list[Figure]:
    return [
        _figure(
            "peers",
            "fibe Bearer read / DRF + HasAPIKey req/s (gunicorn, wrk)",
            _number(r"fibe-bearer / drf-apikey = ([\d.]+)", out),
            ">= 1.25",
            lambda v: v >= 1.25,
        ),
        _figure(
            "peers",
            "fibe Bearer read / DRF without authentication req/s",
            _number(r"fibe-bearer / drf-noauth = ([\d.]+)", out),
            ">= 1.0",
            lambda v: v >= 1.0,
        ),
    ]


def listen_figures(out: str) -> list[Figure]:
    return [
        _figure(
            "listen",
            "API write commit → fibe listen's receiver p50 (ms)",
            _number(r"listen\s+commit→receipt p50\s+([\d.]+) ms", out),
            "<= 1000",
            lambda v: v <= 1000,
        ),
        _figure(
            "listen",
            "the same, p95 (ms)",
            _number(r"listen\s+commit→receipt p50\s+[\d.]+ ms\s+p95\s+([\d.]+) ms", out),
            "(shown)",
        ),
        _figure(
            "listen",
            "listen p50 / registered endpoint p50 (same writes)",
            _number(r"listen / endpoint p50 = ([\d.]+)", out),
            "(shown)",
        ),
    ]


def scale_figures(out: str) -> list[Figure]:
    line = next((x for x in out.splitlines() if x.startswith("BENCH-JSON ")), None)
    got = json.loads(line.removeprefix("BENCH-JSON ")) if line else {}
    pages, beat = got.get("pages", {}), got.get("beat", {})
    drain, purge = got.get("drain", {}), got.get("purge", {})

    def ratio(a, b):
        return a / b if a and b else None

    def page(name, key="ratio", target=1.5, label=None):
        row = pages.get(name, {})
        return _figure(
            "scale",
            label or f"{name}: big / small",
            row.get(key),
            f"<= {target}",
            lambda v: v <= target,
        )

    def worst(suffix):
        rows = {k: v for k, v in pages.items() if k.startswith("API ") and k.endswith(suffix)}
        name = max(rows, key=lambda k: rows[k]["ratio"], default=None)
        op = name.split()[1].rstrip(",") if name else ""
        label = f"API lists, {suffix}, worst" + (f" ({op})" if op else "")
        return _figure(
            "scale", label, rows[name]["ratio"] if name else None, "<= 1.5", lambda v: v <= 1.5
        )

    return [
        _figure("scale", "seed time, s (a year of history)", got.get("seed_s"), "(shown)"),
        _figure(
            "scale",
            "drain of 2000: big tables / empty tables",
            ratio(drain.get("big"), drain.get("small")),
            ">= 0.9",
            lambda v: v >= 0.9,
        ),
        _figure(
            "scale",
            "drain beside a day's purge / alone (mean of 2 pairs)",
            drain.get("purge_ratio"),
            ">= 0.8",
            lambda v: v >= 0.8,
        ),
        _figure(
            "scale",
            "longest purge statement on deliveries (ms)",
            1000 * purge["longest_on_deliveries_s"] if purge else None,
            "<= 1000",
            lambda v: v <= 1000,
        ),
        *[
            _figure("scale", f"beat {name}: ms a run", row["ms"], "<= 100", lambda v: v <= 100)
            for name, row in beat.items()
        ],
        _figure(
            "scale",
            "beat statements scanning a big table without index",
            sum(row["seq_scans"] for row in beat.values()) if beat else None,
            "0",
            lambda v: v == 0,
        ),
        page("delivery log, first page"),
        page("delivery log, deep page"),
        page("Profile → API Keys"),
        page("Profile → API Keys", "bytes_ratio", 2, "Profile → API Keys: bytes big / small"),
        page("security log, first page"),
        page("security log, deep page"),
        page("key activity, first page"),
        page("key activity, deep page"),
        worst("first page"),
        worst("deep page"),
    ]


BENCHES = {
    "auth": auth_figures,
    "delivery": delivery_figures,
    "pages": pages_figures,
    "peers": peers_figures,
    "listen": listen_figures,
    "scale": scale_figures,
}


def bench_env() -> dict:
    url = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    return {
        **os.environ,
        "DATABASE_URL": urlunsplit(url._replace(path="/fibe_bench")),
        "DJANGO_SETTINGS_MODULE": "fibe_access.settings_test",
        "PYTHONUNBUFFERED": "1",
    }


def run_one(name: str, env: dict) -> tuple[str, float]:
    script = BENCH_DIR / f"{name}.py"
    print(f"\n=== bench/{name}.py", flush=True)
    if not script.exists():
        print(f"(bench/{name}.py does not exist yet: skipped)")
        return "", 0.0
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        cwd=BENCH_DIR.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in proc.stdout:
        if not line.startswith("BENCH-JSON "):
            print(line, end="", flush=True)
        lines.append(line)
    proc.wait()
    if proc.returncode:
        print(f"(bench/{name}.py exited with {proc.returncode})")
    return "".join(lines), time.monotonic() - started


def main() -> int:
    chosen = sys.argv[1:] or list(BENCHES)
    unknown = set(chosen) - set(BENCHES)
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}; choose from {list(BENCHES)}")
    env = bench_env()
    figures: list[Figure] = []
    for name in chosen:
        out, took = run_one(name, env)
        figures += BENCHES[name](out)
        print(f"(bench/{name}.py took {took:.0f} s)")
    print("\n" + f"{'bench':<9}{'figure':<58}{'value':>10}  {'target':<10}verdict")
    for figure in figures:
        print(figure.row())
    met = [f for f in figures if f.ok]
    missed = [f for f in figures if f.ok is False]
    absent = [f for f in figures if f.value is None]
    print(
        f"\n{len(met)} met, {len(missed)} missed, {len(absent)} not measured "
        f"(ratios from one run on this machine; see bench/README.md)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

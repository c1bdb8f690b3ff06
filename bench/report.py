"""Every benchmark, one table: what `make bench` prints.

Runs each script under bench/ in its own process with `--json` (each still runs alone, and prints
its own detail on stderr as it goes), then prints one table of the figures that matter with a
description of the machine: CPU, cores, memory, Python, OS and the load average before and after
(other work on the machine moves every figure). The end-to-end latency and the load benchmark
share one local stack, started here on free ports and stopped at the end.
Usage: python bench/report.py [--quick] [--only NAME ...] [--markdown] [--json > run.json]
       python bench/report.py --from run.json [--markdown]   (the table of a saved run)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import ROOT, emit_json, new_local_stack

SCRIPT_TIMEOUT_SECONDS = 900.0


@dataclass(frozen=True)
class Bench:
    name: str
    full: list[str]
    quick: list[str]
    needs_stack: bool = False
    wrapper: tuple[str, ...] = ()
    """What the script runs under, e.g. scripts/with-docker for one that needs Docker."""


BENCHES = (
    Bench("api_cold_start", ["--runs", "9"], ["--runs", "3"]),
    Bench(
        "api_warm_overhead", ["--iterations", "2000"], ["--iterations", "300", "--tokens", "100"]
    ),
    Bench("signed_urls", [], ["--requests", "50", "--fresh", "3", "--repeat", "3"]),
    Bench("worker_validate", ["--repeat", "3"], ["--repeat", "1", "--only", "jpeg-10mb-12mp"]),
    Bench("local_e2e_latency", ["--uploads", "20"], ["--uploads", "5"], needs_stack=True),
    Bench("load", [], ["--users", "5", "--uploads", "4"], needs_stack=True),
    Bench(
        "bundle_bytecode",
        ["--runs", "7"],
        ["--runs", "2"],
        wrapper=(str(ROOT / "scripts" / "with-docker"),),
    ),
)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
                break
    except (OSError, subprocess.SubprocessError):
        pass
    memory_gib = None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": f"{cpu} ({platform.machine()})",
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def run(bench: Bench, quick: bool, extra: list[str]) -> dict[str, Any]:
    """One script with --json: its figures, or why there are none."""
    script = [sys.executable, str(ROOT / "bench" / f"{bench.name}.py"), "--json"]
    argv = [*bench.wrapper, *script, *(bench.quick if quick else bench.full), *extra]
    print(
        f"\n== {bench.name}: {' '.join(argv[len(bench.wrapper) + 2 :])}",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv,
            stdout=subprocess.PIPE,
            stderr=None,  # the script's own progress and table, as it goes
            text=True,
            timeout=SCRIPT_TIMEOUT_SECONDS,
            check=False,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {SCRIPT_TIMEOUT_SECONDS:.0f}s"}
    try:
        figures: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"ok": False, "error": f"exit status {done.returncode}, no figures"}
    figures["ok"] = done.returncode == 0
    figures["seconds"] = time.monotonic() - started
    if done.returncode:
        figures["error"] = f"exit status {done.returncode}"
    return figures


Row = tuple[str, str, str]


def _ms(spread: dict[str, Any], *keys: str) -> str:
    return " / ".join(
        f"{spread[key]:.2f}" if spread[key] < 10 else f"{spread[key]:.0f}" for key in keys
    )


def rows_cold(figures: dict[str, Any]) -> list[Row]:
    app, bare = figures["app"], figures["bare"]
    return [
        (
            "API cold start: app / bare ratio",
            f"{figures['cold_ratio']:.2f}",
            f"aim <= {figures['aim_ratio']}; spawn to first response, median of {figures['runs']}",
        ),
        (
            "API cold start: app total (ms)",
            f"{app['total_ms']:.0f}",
            f"imports {app['import_ms']:.0f}, first request {app['first_request_ms']:.0f};"
            f" bare {bare['total_ms']:.0f}",
        ),
    ]


def rows_warm(figures: dict[str, Any]) -> list[Row]:
    rows = []
    for key, route in (
        ("post", "POST /assets"),
        ("get", "GET /assets/{id}"),
        ("get_missing", "GET /assets/{id} 404"),
    ):
        if key not in figures:  # a run saved before the 404 path was measured
            continue
        row = figures[key]
        rows.append(
            (
                f"{route} through the handler, p50 / p99 (ms)",
                _ms(row["handler_ms"], "p50", "p99"),
                f"app overhead {_ms(row['overhead_ms'], 'p50', 'p99')}; AWS stubbed;"
                f" {figures['iterations']} requests",
            )
        )
    rows.append(
        (
            "JWT verification, new token, p50 / p99 (ms)",
            _ms(figures["jwt_verify_uncached_ms"], "p50", "p99"),
            f"{figures['jwt_tokens']} distinct tokens; a token seen before:"
            f" {_ms(figures['jwt_verify_remembered_ms'], 'p50', 'p99')}",
        )
    )
    return rows


def rows_signed(figures: dict[str, Any]) -> list[Row]:
    handler, signing, aim = figures["handler"], figures["signing"], figures["aim"]
    return [
        (
            "signed URLs: 100-asset page read again, added p50 / p99 (ms)",
            _ms(handler["warm_added_ms"], "p50", "p99"),
            f"GET /assets?limit=100 signed minus public, through the handler;"
            f" aim <= {figures['aim_ms']:.0f}: {'met' if aim['polled_met'] else 'MISSED'}",
        ),
        (
            "signed URLs: first page of a process, added p50 (ms)",
            _ms(handler["first_added_ms"], "p50"),
            f"100 RSA-SHA1 signatures ({signing['per_signature_ms']:.2f} ms each) and the key's"
            f" read; aim {'met' if aim['first_page_met'] else 'MISSED'}",
        ),
        (
            "signed URLs: page polled every 5 s for 2 h, p50 / p99 / max (ms)",
            _ms(signing["polled_page_ms"], "p50", "p99", "max"),
            "signing alone; each URL re-signed when its own window turns",
        ),
    ]


def rows_worker(figures: dict[str, Any]) -> list[Row]:
    rows = [
        (
            f"worker {case['case']}: time (s) / peak memory (MB)",
            f"{case['total_s']:.3f} / {case['peak_mb']:.0f}",
            f"{case['file_mb']:.1f} MB, {case['megapixels']:.1f} MP; validate"
            f" {case['validate_s']:.3f} s, re-encode {case['encode_s']:.3f} s",
        )
        for case in figures["cases"]
    ]
    aim = figures["aim"]
    if aim["met"] is not None:
        rows.append(("worker aim", "met" if aim["met"] else "MISSED", aim["text"]))
    return rows


def rows_e2e(figures: dict[str, Any]) -> list[Row]:
    return [
        (
            "local form POST -> ready, median / p90 (ms)",
            f"{figures['median_ms']:.0f} / {figures['p90_ms']:.0f}",
            f"{figures['uploads']} uploads one at a time; the POST itself"
            f" {figures['post_median_ms']:.0f} ms",
        )
    ]


def _met(met: bool | None) -> str:
    return "-" if met is None else "met" if met else "MISSED"


def rows_load(figures: dict[str, Any]) -> list[Row]:
    final = figures["final_ms"]
    aim = figures.get("aim")  # a run saved before the aims were judged has none
    rows = [
        (
            "load: uploads per second",
            f"{figures['uploads_per_second']:.1f}",
            f"{figures['users']} users x {figures['uploads_per_user']} uploads, a third invalid",
        )
    ]
    bare = figures.get("bare")
    if aim is not None and bare is not None:
        rows.append(
            (
                "load: throughput ratio, stack / bare image work",
                f"{figures['throughput_ratio']:.3f}",
                f"aim >= {aim['ratio']}: {_met(aim['ratio_met'])}; bare"
                f" {bare['uploads_per_second']:.1f} uploads/s (worker.imaging.prepare,"
                f" the same {bare['files']} files, one core)",
            )
        )
    p95_aim = "" if aim is None else f"aim p95 <= {aim['p95_ms']:.0f}: {_met(aim['p95_met'])}; "
    rows += [
        (
            "load: form POST -> final, p50 / p95 / p99 (ms)",
            "-" if final["p50"] is None else _ms(final, "p50", "p95", "p99"),
            f"{p95_aim}seen by the polling page: p50 {figures['seen_ms']['p50'] or 0:.0f} ms",
        ),
        (
            "load: not final / wrong verdict / CDN failures",
            f"{figures['not_final']} / {figures['wrong_verdicts']} / {figures['cdn_failures']}",
            "all must be 0; ready served with its type, rejected never (403 unsigned, 404 public)",
        ),
    ]
    return rows


def rows_bytecode(figures: dict[str, Any]) -> list[Row]:
    with_, without = figures["with_bytecode"], figures["without_bytecode"]
    return [
        (
            "cold import api.main, read-only bundle: without / with bytecode",
            f"{figures['ratio']:.2f}",
            f"python3.13 in the local Lambda image ({figures['architecture']}),"
            f" median of {figures['runs']} containers each",
        ),
        (
            "cold import api.main with / without bytecode (ms)",
            f"{with_['import_ms']:.0f} / {without['import_ms']:.0f}",
            f"{figures['modules']} modules; container run {with_['container_ms']:.0f} /"
            f" {without['container_ms']:.0f} ms",
        ),
    ]


ROWS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "api_cold_start": rows_cold,
    "api_warm_overhead": rows_warm,
    "signed_urls": rows_signed,
    "worker_validate": rows_worker,
    "local_e2e_latency": rows_e2e,
    "load": rows_load,
    "bundle_bytecode": rows_bytecode,
}


def table(results: dict[str, dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for name, figures in results.items():
        if "error" in figures and len(figures) <= 3:
            rows.append((name, "FAILED", figures["error"]))
            continue
        try:
            rows += ROWS[name](figures)
        except (KeyError, TypeError) as error:
            rows.append((name, "FAILED", f"unreadable figures: {error!r}"))
        if not figures.get("ok", False):
            rows.append((name, "FAILED", figures.get("error", "")))
    return rows


def print_text(rows: list[Row], about: dict[str, Any]) -> None:
    width = max(len(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows)
    print()
    print(describe(about))
    print()
    for figure, value, detail in rows:
        print(f"{figure:<{width}}  {value:>{value_width}}  {detail}")


def print_markdown(rows: list[Row], about: dict[str, Any]) -> None:
    print(describe(about))
    print()
    print("| figure | value | detail |")
    print("| --- | ---: | --- |")
    for figure, value, detail in rows:
        print(f"| {figure} | {value} | {detail} |")


def describe(about: dict[str, Any]) -> str:
    load = about["load_average"]
    return (
        f"Machine: {about['cpu']}, {about['cores']} cores, {about['memory_gib']} GiB;"
        f" Python {about['python']}; {about['os']}.\n"
        f"Load average (1 min) {load['before']:.2f} before, {load['after']:.2f} after;"
        f" {about['when']}, {about['mode']} run in {about['seconds']:.0f} s."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs: a smoke test, not figures"
    )
    parser.add_argument("--only", action="append", choices=[b.name for b in BENCHES])
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--json", action="store_true", help="print everything as JSON")
    parser.add_argument("--from", dest="saved", type=Path, help="a run saved with --json")
    args = parser.parse_args()
    if args.saved:
        saved = json.loads(args.saved.read_text(encoding="utf-8"))
        rows = [(figure, value, detail) for figure, value, detail in saved["table"]]
        (print_markdown if args.markdown else print_text)(rows, saved["machine"])
        return 0
    chosen = [bench for bench in BENCHES if not args.only or bench.name in args.only]
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    results: dict[str, dict[str, Any]] = {}
    alone = [bench for bench in chosen if not bench.needs_stack]
    for bench in alone:
        results[bench.name] = run(bench, args.quick, [])
    with_stack = [bench for bench in chosen if bench.needs_stack]
    if with_stack:
        with (
            tempfile.TemporaryDirectory(prefix="bench-report-") as directory,
            new_local_stack(Path(directory)),
        ):
            for bench in with_stack:
                shared = ["--state-dir", directory]
                if bench.name == "load":
                    shared.append("--use-running")
                results[bench.name] = run(bench, args.quick, shared)
    about = machine()
    about["load_average"] = {"before": load_before, "after": os.getloadavg()[0]}
    about["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    about["mode"] = "quick" if args.quick else "full"
    about["seconds"] = time.monotonic() - started
    rows = table({name: results[name] for name in (b.name for b in chosen)})
    if args.json:
        emit_json({"machine": about, "results": results, "table": [list(row) for row in rows]})
    elif args.markdown:
        print_markdown(rows, about)
    else:
        print_text(rows, about)
    return 0 if all(figures.get("ok") for figures in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

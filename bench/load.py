"""Load: N users each doing M full uploads at once through the local stack, valid and invalid files.

Starts a local stack on free ports (or, with `--use-running`, uses the one in `--state-dir`),
creates N users with the code `python -m local_stack users add` runs, and runs the users
concurrently, each as a browser would: sign in, then for each file `POST /assets`, the form POST
to the bucket, and `GET /assets/{id}` polled with the page's own backoff until `ready` or
`rejected`. A third of the files are invalid (a fake JPEG, a truncated PNG, a text file).

Figures: uploads per second (assets decided, over the time from the first form POST to the last
decision); the same files through the worker's own image work (`worker.imaging.prepare`: decode,
sanitize, variants; for an invalid file, the cost of refusing it) one after another in this process
on one core, as bare uploads per second, and the throughput ratio stack / bare (aim >= 0.15); the latency from the start of the form POST to the moment the worker wrote the
final status (the record's `updatedAt`; the same clock, all on loopback), p50/p95/p99 (aim: p95
<= 3 s); also what the polling page saw. Checks: every asset reaches a final state (the count that did not is
printed and must be 0), each gets the verdict its bytes call for, the CDN serves every `ready`
asset with its type and size and answers 404 for every `rejected` one.

Bounded: M x N uploads, and a hard `--deadline` for the whole run; the stack it started is stopped
at the end, with every process. Exit status 0 only if every check passed.
Usage: python bench/load.py [--users 20] [--uploads 10] [--deadline 300] [--state-dir DIR --use-running] [--json]
       [--no-bare]   (skip the bare image work: no ratio)
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assets.errors import UploadRejected
from assets.model import ImageType
from assets.settings import WorkerSettings
from bench.support import ROOT, emit_json, human_stream, local_stack, percentile
from local_stack.aws import MotoClients
from local_stack.client import LocalStackCallFailed, LocalStackClient
from local_stack.provision import create_user, generate_password
from local_stack.state import StackInfo

FINAL = frozenset({"ready", "rejected"})
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg"}
PILLOW_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG"}
HARD_STOP_GRACE_SECONDS = 60.0
AIM_RATIO = 0.15
"""Stack uploads/s at least this share of the bare image work's (issue 17)."""
AIM_P95_MS = 3000.0
"""Form POST to final status, p95 (issue 17)."""


@dataclass(frozen=True)
class Sample:
    """One kind of file a user uploads: its bytes, the type declared, the verdict it deserves."""

    kind: str
    data: bytes
    content_type: str
    expected: str


@dataclass
class Outcome:
    user: int
    kind: str
    content_type: str
    expected: str
    asset_id: str | None = None
    status: str | None = None
    post_started: float = 0.0
    """Wall clock (time.time) at the start of the form POST."""
    post_ms: float | None = None
    final_ms: float | None = None
    """Form POST start to the record's final `updatedAt`."""
    seen_ms: float | None = None
    """Form POST start to the poll that first saw the final status."""
    bytes: int | None = None
    url: str | None = None
    error: str | None = None
    cdn_ok: bool | None = None
    cdn_detail: str = ""


@dataclass
class Run:
    deadline: float
    stop: threading.Event = field(default_factory=threading.Event)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


def _encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def samples() -> list[Sample]:
    """Valid PNGs and JPEGs of a few sizes (noise over a gradient, so they do not compress to
    nothing), and the invalid files: a fake JPEG, a truncated PNG, a text file declared PNG."""
    images = []
    for width, height in ((64, 48), (640, 480), (1280, 960)):
        gradient = Image.linear_gradient("L").resize((width, height))
        noise = Image.effect_noise((width, height), 40)
        images.append(Image.merge("RGB", (gradient, noise, gradient.rotate(90))))
    valid = [
        *(
            Sample(f"png {i.width}x{i.height}", _encode(i, "PNG"), "image/png", "ready")
            for i in images
        ),
        *(
            Sample(
                f"jpeg {i.width}x{i.height}", _encode(i, "JPEG", quality=90), "image/jpeg", "ready"
            )
            for i in images
        ),
    ]
    png = valid[1].data
    invalid = [
        Sample(
            "fake jpeg", b"\xff\xd8\xff\xe0" + b"this is not a JPEG " * 64, "image/jpeg", "rejected"
        ),
        Sample("truncated png", png[: len(png) // 2], "image/png", "rejected"),
        Sample("text as png", b"just some text, not an image\n" * 40, "image/png", "rejected"),
    ]
    return valid + invalid


def workload(users: int, uploads: int, seed: int) -> list[list[Sample]]:
    """Each user's files: two thirds valid, one third invalid, shuffled, the same for a seed."""
    kinds = samples()
    valid = [s for s in kinds if s.expected == "ready"]
    invalid = [s for s in kinds if s.expected == "rejected"]
    chooser = random.Random(seed)
    plan = []
    for _ in range(users):
        files = [
            chooser.choice(invalid) if chooser.random() < 1 / 3 else chooser.choice(valid)
            for _ in range(uploads)
        ]
        plan.append(files)
    return plan


def bare_image_work(plan: list[list[Sample]]) -> dict[str, Any]:
    """Every planned file through the worker's own image work, one after another on one core.

    `imaging.prepare` with the worker's default limits and publish mode (the template's values):
    decode, sanitize, variants and placeholder for a valid file; for an invalid one, refusing it.
    No storage, queue or table: what the stack adds on top is what the ratio measures.
    """
    from worker import imaging  # as the worker does: Pillow's codecs load on the first file

    defaults = WorkerSettings.model_construct()  # the field defaults, without the environment
    limits = imaging.ImageLimits.from_settings(defaults)
    sanitize = defaults.PUBLISH_MODE == "sanitized"
    files = [sample for files in plan for sample in files]
    # One file untimed first: what a worker process pays once (codec set-up) is not per upload.
    warm = next((s for s in files if s.expected == "ready"), None)
    if warm is not None:
        imaging.prepare(warm.data, ImageType(warm.content_type), limits, sanitize=sanitize)
    pinned = _pin_to_one_core()
    verdicts: Counter[str] = Counter()
    wrong = 0
    try:
        started, cpu_started = time.perf_counter(), time.thread_time()
        for sample in files:
            try:
                imaging.prepare(
                    sample.data, ImageType(sample.content_type), limits, sanitize=sanitize
                )
                verdict = "ready"
            except UploadRejected:
                verdict = "rejected"
            verdicts[verdict] += 1
            wrong += verdict != sample.expected
        seconds = time.perf_counter() - started
        cpu_seconds = time.thread_time() - cpu_started
    finally:
        if pinned is not None:
            os.sched_setaffinity(0, pinned)
    return {
        "files": len(files),
        "seconds": seconds,
        # Well under `seconds`: other work on the machine had the core part of the time.
        "cpu_seconds": cpu_seconds,
        "uploads_per_second": len(files) / max(seconds, 1e-9),
        "by_verdict": dict(verdicts),
        "wrong_verdicts": wrong,
        "one_core": pinned is not None,
    }


def _pin_to_one_core() -> set[int] | None:
    """Pin this thread to one CPU; the CPUs it had, to restore, or None where that is not possible."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    had = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(had)})
    return had


def create_users(info: StackInfo, count: int) -> tuple[list[str], str]:
    """`count` new users in the stack's pool, as `python -m local_stack users add` makes them."""
    cognito = MotoClients(info.awsEndpointUrl, info.region).cognito
    policy = cognito.describe_user_pool(UserPoolId=info.userPoolId)["UserPool"]
    password = generate_password(dict(policy.get("Policies", {}).get("PasswordPolicy", {})))
    run = uuid.uuid4().hex[:8]
    emails = [f"load-{run}-{n:03d}@example.com" for n in range(count)]
    for email in emails:
        create_user(cognito, info.userPoolId, email, password)
    return emails, password


def page_backoff(first: float = 0.3, factor: float = 1.6, most: float = 4.0) -> Iterator[float]:
    """The page's waits between status polls (site/js/upload.js `backoffDelays`)."""
    delay = first
    while True:
        yield delay
        delay = min(delay * factor, most)


def fixed_interval(seconds: float) -> Iterator[float]:
    while True:
        yield seconds


def _iso_seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def upload_one(
    client: LocalStackClient, token: str, sample: Sample, outcome: Outcome, run: Run, poll: str
) -> None:
    upload = client.create_upload(token, sample.content_type)
    outcome.asset_id = upload.asset_id
    outcome.post_started = time.time()
    started = time.perf_counter()
    sent = client.send_file(
        upload, sample.data, f"load.{EXTENSIONS[sample.content_type]}", sample.content_type
    )
    outcome.post_ms = (time.perf_counter() - started) * 1000
    if sent.status_code != 204:
        outcome.error = f"form POST answered {sent.status_code}"
        return
    waits = page_backoff() if poll == "page" else fixed_interval(float(poll))
    while True:
        asset = client.get_asset(token, upload.asset_id)
        if asset["status"] in FINAL:
            outcome.seen_ms = (time.perf_counter() - started) * 1000
            outcome.status = asset["status"]
            outcome.final_ms = (_iso_seconds(asset["updatedAt"]) - outcome.post_started) * 1000
            outcome.bytes = asset.get("bytes")
            outcome.url = asset.get("url")
            return
        pause = next(waits)
        if run.stop.is_set() or run.remaining() < pause:
            outcome.status = asset["status"]
            outcome.error = "the deadline passed before a final status"
            return
        time.sleep(pause)


def user_session(
    info: StackInfo,
    number: int,
    email: str,
    password: str,
    files: list[Sample],
    run: Run,
    poll: str,
) -> list[Outcome]:
    outcomes = [Outcome(number, s.kind, s.content_type, s.expected) for s in files]
    with httpx.Client(timeout=30) as http:
        client = LocalStackClient(info, http)
        try:
            token = client.sign_in(email, password)
        except (LocalStackCallFailed, httpx.HTTPError) as error:
            for outcome in outcomes:
                outcome.error = f"sign-in failed: {error}"
            return outcomes
        for sample, outcome in zip(files, outcomes, strict=True):
            if run.stop.is_set() or run.remaining() <= 0:
                outcome.error = "not started: the deadline passed"
                continue
            try:
                upload_one(client, token, sample, outcome, run, poll)
            except (LocalStackCallFailed, httpx.HTTPError, KeyError, ValueError) as error:
                outcome.error = f"{type(error).__name__}: {str(error)[:200]}"
    return outcomes


def check_cdn(info: StackInfo, outcome: Outcome, http: httpx.Client) -> None:
    """A ready asset is served with its type and size; a rejected one is not served at all."""
    if outcome.status == "ready":
        assert outcome.url is not None
        response = http.get(outcome.url)
        kind = response.headers.get("content-type", "")
        try:
            image = Image.open(io.BytesIO(response.content))
            image.load()
            decoded = image.format
        except Exception:  # noqa: BLE001 - any failure to decode is a failed check
            decoded = None
        outcome.cdn_ok = (
            response.status_code == 200
            and kind == outcome.content_type
            and decoded == PILLOW_FORMATS[outcome.content_type]
            and len(response.content) == outcome.bytes
        )
        outcome.cdn_detail = f"{response.status_code} {kind} {decoded} {len(response.content)}"
    elif outcome.status == "rejected":
        # No URL was ever issued: the plain one is refused unsigned (signed delivery, 403)
        # or, with public delivery, is not there (404).
        url = f"{info.cdnUrl}/{outcome.asset_id}.{EXTENSIONS[outcome.content_type]}"
        response = http.get(url)
        refused = 403 if info.extra.get("assetDelivery", "signed") == "signed" else 404
        outcome.cdn_ok = response.status_code == refused
        outcome.cdn_detail = str(response.status_code)


def summarise(outcomes: list[Outcome], users: int, uploads: int, started: float) -> dict[str, Any]:
    decided = [o for o in outcomes if o.status in FINAL and o.final_ms is not None]
    final_ms = [o.final_ms for o in decided if o.final_ms is not None]
    seen_ms = [o.seen_ms for o in decided if o.seen_ms is not None]
    post_ms = [o.post_ms for o in outcomes if o.post_ms is not None]
    first_post = min((o.post_started for o in outcomes if o.post_started), default=started)
    last_final = max(
        (o.post_started + (o.final_ms or 0) / 1000 for o in decided), default=first_post
    )
    window = max(last_final - first_post, 1e-9)

    def spread(values: list[float]) -> dict[str, float | None]:
        if not values:
            return {"p50": None, "p95": None, "p99": None, "max": None}
        return {
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "p99": percentile(values, 99),
            "max": max(values),
        }

    return {
        "users": users,
        "uploads_per_user": uploads,
        "uploads": len(outcomes),
        "decided": len(decided),
        "not_final": len(outcomes) - len(decided),
        "wrong_verdicts": sum(1 for o in decided if o.status != o.expected),
        "cdn_failures": sum(1 for o in decided if o.cdn_ok is False),
        "errors": sum(1 for o in outcomes if o.error),
        "by_status": dict(Counter(o.status or "none" for o in outcomes)),
        "uploads_per_second": len(decided) / window,
        "window_s": window,
        "final_ms": spread(final_ms),
        "seen_ms": spread(seen_ms),
        "post_ms": spread(post_ms),
    }


def judge(result: dict[str, Any], bare: dict[str, Any] | None) -> dict[str, Any]:
    """The issue's aims against this run's figures: the throughput ratio and the p95."""
    p95 = result["final_ms"]["p95"]
    ratio = None if bare is None else result["uploads_per_second"] / bare["uploads_per_second"]
    return {
        "bare": bare,
        "throughput_ratio": ratio,
        "aim": {
            "ratio": AIM_RATIO,
            "ratio_met": None if ratio is None else ratio >= AIM_RATIO,
            "p95_ms": AIM_P95_MS,
            "p95_met": p95 is not None and p95 <= AIM_P95_MS,
            "none_lost_or_wrong": not result["not_final"] and not result["wrong_verdicts"],
        },
    }


def verdict(met: bool | None) -> str:
    return "-" if met is None else "PASS" if met else "MISS"


def print_table(result: dict[str, Any], out: Any) -> None:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    print(
        f"\nload: {result['users']} users x {result['uploads_per_user']} uploads"
        f" ({result['uploads']} in all; {result['by_status']})",
        file=out,
    )
    aim = result["aim"]
    print(f"  {'uploads per second':<34}{result['uploads_per_second']:>8.1f}", file=out)
    bare = result["bare"]
    if bare is not None:
        print(
            f"  {'bare image work, uploads/s':<34}{bare['uploads_per_second']:>8.1f}"
            f"  ({bare['files']} files in {bare['seconds']:.1f} s, CPU {bare['cpu_seconds']:.1f} s,"
            f" {'one core' if bare['one_core'] else 'NOT pinned to one core'})",
            file=out,
        )
        print(
            f"  {'throughput ratio = stack / bare':<34}{result['throughput_ratio']:>8.3f}"
            f"  aim >= {aim['ratio']}: {verdict(aim['ratio_met'])}",
            file=out,
        )
    print(f"  {'':<34}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}  (ms)", file=out)
    for label, key in (
        ("form POST -> final status", "final_ms"),
        ("form POST -> seen by the page", "seen_ms"),
        ("form POST itself", "post_ms"),
    ):
        row = result[key]
        print(
            f"  {label:<34}{ms(row['p50']):>8}{ms(row['p95']):>8}{ms(row['p99']):>8}{ms(row['max']):>8}",
            file=out,
        )
    p95 = result["final_ms"]["p95"]
    print(
        f"  {'form POST -> final, p95 (ms)':<34}{ms(p95):>8}"
        f"  aim <= {aim['p95_ms']:.0f}: {verdict(aim['p95_met'])}",
        file=out,
    )
    for label, key in (
        ("not in a final state (must be 0)", "not_final"),
        ("wrong verdicts", "wrong_verdicts"),
        ("CDN check failures", "cdn_failures"),
        ("errors", "errors"),
    ):
        print(f"  {label:<34}{result[key]:>8}", file=out)
    print(f"  {'0 lost, 0 wrong verdicts':<34}{verdict(aim['none_lost_or_wrong']):>8}", file=out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--uploads", type=int, default=10, help="uploads per user")
    parser.add_argument("--deadline", type=float, default=300.0, help="hard limit, seconds")
    parser.add_argument(
        "--poll", default="page", help="'page' (the page's backoff) or a fixed interval in seconds"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".local")
    parser.add_argument(
        "--use-running", action="store_true", help="use the stack in --state-dir if it answers"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    parser.add_argument(
        "--no-bare",
        dest="bare",
        action="store_false",
        help="skip the bare image work baseline (no throughput ratio)",
    )
    args = parser.parse_args()
    if not 1 <= args.users * args.uploads <= 10_000:
        parser.error("users x uploads must be between 1 and 10000")
    out = human_stream(args.json)
    plan = workload(args.users, args.uploads, args.seed)
    bare = None
    if args.bare:
        # Before the stack starts (or while a running one is idle), so nothing else of this
        # run competes with it for the core.
        print(f"bare image work: {sum(map(len, plan))} files on one core...", file=out)
        bare = bare_image_work(plan)
    begun = time.monotonic()
    run = Run(deadline=begun + args.deadline)
    with local_stack(
        args.state_dir,
        say=out,
        reuse=args.use_running,
        hard_stop_after=args.deadline + HARD_STOP_GRACE_SECONDS,
    ) as info:
        emails, password = create_users(info, args.users)
        print(f"created {len(emails)} users; uploading...", file=out)
        started = time.time()
        timer = threading.Timer(max(run.remaining(), 0), run.stop.set)
        timer.start()
        try:
            with ThreadPoolExecutor(max_workers=args.users) as pool:
                futures = [
                    pool.submit(user_session, info, n, email, password, files, run, args.poll)
                    for n, (email, files) in enumerate(zip(emails, plan, strict=True))
                ]
                outcomes = [o for future in futures for o in future.result()]
        finally:
            timer.cancel()
        with httpx.Client(timeout=30) as http, ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda o: check_cdn(info, o, http), outcomes))
    result = summarise(outcomes, args.users, args.uploads, started)
    result["elapsed_s"] = time.monotonic() - begun
    result["deadline_s"] = args.deadline
    result.update(judge(result, bare))
    print_table(result, out)
    failed = [o for o in outcomes if o.error or o.status != o.expected or o.cdn_ok is False]
    for o in failed[:10]:
        print(
            f"  failed: user {o.user}, {o.kind}, asset {o.asset_id}: {o.status}"
            f" (expected {o.expected}) {o.error or ''} {o.cdn_detail}",
            file=out,
        )
    if len(failed) > 10:
        print(f"  ... and {len(failed) - 10} more", file=out)
    result["failures"] = [asdict(o) for o in failed[:50]]
    if args.json:
        emit_json(result)
    ok = not (
        result["not_final"]
        or result["wrong_verdicts"]
        or result["cdn_failures"]
        or result["errors"]
        or (bare is not None and bare["wrong_verdicts"])
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

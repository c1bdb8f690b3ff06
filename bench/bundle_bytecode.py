"""Cold start of a read-only bundle: `import api.main` under python3.13, with and without bytecode.

Lambda mounts a function's bundle read-only at /var/task: without shipped `.pyc` files every
cold start compiles every module it imports, and can write none of them down. This builds the
API's bundle as `sam build` does (deploy/lambda_deps.py bundle, this machine's architecture),
copies it without its `__pycache__` directories, and times the import in the local Lambda image
(scripts/lambda-image: python3.13, the bundle mounted read-only where Lambda mounts it), a new
container for each run, alternating the two. The import is timed inside the container; the
container's start is reported apart.

Needs a Docker engine: `scripts/with-docker python bench/bundle_bytecode.py` starts one if none
runs (`make bench` does that), and PyPI for the bundle's wheels.
Usage: python bench/bundle_bytecode.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from deploy import lambda_deps  # noqa: E402

from bench.support import emit_json, human_stream  # noqa: E402

# What the API's settings require at import; nothing is called.
SETTINGS = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "ASSETS_TABLE_NAME": "assets",
    "ASSET_BUCKET_NAME": "asset-bucket",
    "ASSET_BASE_URL": "https://cdn.example.test/assets",
    "COGNITO_USER_POOL_ID": "us-east-1_bench",
    "COGNITO_CLIENT_ID": "bench",
    # Signed delivery, as deployed: the key is read at the first URL, not at import.
    "CLOUDFRONT_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench",
    "CLOUDFRONT_KEY_PAIR_ID": "K2JCJMDEHXQW5F",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
TIMED_IMPORT = (
    "import time; started = time.perf_counter(); import api.main;"
    " print(time.perf_counter() - started)"
)


def fail(message: str) -> NoReturn:
    print(f"bundle_bytecode: {message}", file=sys.stderr)
    raise SystemExit(1)


def local_image(architecture: str) -> str:
    """The local Lambda image, built or found cached; exits saying why when it cannot be."""
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        fail(
            "no Docker engine answers: run it as `scripts/with-docker python bench/bundle_bytecode.py`"
        )
    built = subprocess.run(
        [str(ROOT / "scripts" / "lambda-image"), "--arch", architecture],
        stdout=sys.stderr,
        env={**os.environ, "PYTHON": sys.executable},
        check=False,
    )
    if built.returncode != 0:
        fail("scripts/lambda-image failed")
    return lambda_deps.LOCAL_IMAGE.format(architecture=architecture)


def cold_import(image: str, bundle: Path) -> tuple[float, float]:
    """Seconds for `import api.main` in a new container, and for the whole container run."""
    command = ["docker", "run", "--rm", "--network", "none"]
    command += ["--volume", f"{bundle}:{lambda_deps.TASK_ROOT}:ro"]
    for name, value in SETTINGS.items():
        command += ["--env", f"{name}={value}"]
    command += ["--env", f"PYTHONPATH={lambda_deps.TASK_ROOT}", "--entrypoint", "python3.13"]
    command += [image, "-P", "-c", TIMED_IMPORT]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    total = time.perf_counter() - started
    if done.returncode != 0:
        fail(f"import api.main failed in the container:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1]), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    args = parser.parse_args()
    out = human_stream(args.json)
    architecture = lambda_deps.host_architecture()
    if architecture is None:
        fail("Lambda has no architecture like this machine's")
    image = local_image(architecture)
    with tempfile.TemporaryDirectory(prefix="bundle-bytecode-") as scratch:
        compiled = Path(scratch) / "with-bytecode"
        print(f"building the ApiFunction bundle for {architecture}...", file=sys.stderr)
        # As sam build runs it; its progress goes to stderr, stdout carries only the figures.
        bundler = [sys.executable, str(ROOT / "deploy" / "lambda_deps.py"), "bundle"]
        bundled = subprocess.run(
            [*bundler, "ApiFunction", str(compiled), "--architecture", architecture],
            stdout=sys.stderr,
            check=False,
        )
        if bundled.returncode != 0:
            fail("deploy/lambda_deps.py bundle ApiFunction failed")
        if lambda_deps.bytecode_problems(compiled):
            fail(f"the bundle has no complete bytecode: {lambda_deps.bytecode_problems(compiled)}")
        source_only = Path(scratch) / "without-bytecode"
        shutil.copytree(compiled, source_only, ignore=shutil.ignore_patterns("__pycache__"))
        modules = sum(1 for _ in compiled.rglob("*.py"))
        for bundle in (compiled, source_only):  # the page cache, once each
            cold_import(image, bundle)
        runs: dict[str, list[tuple[float, float]]] = {"with": [], "without": []}
        for _ in range(args.runs):
            runs["with"].append(cold_import(image, compiled))
            runs["without"].append(cold_import(image, source_only))
        # Read-only: nothing was written beside the sources while importing them.
        assert not list(source_only.rglob("*.pyc")), "the read-only bundle gained bytecode"

    def figures(samples: list[tuple[float, float]]) -> dict[str, float]:
        imports = [sample[0] * 1000 for sample in samples]
        return {
            "import_ms": statistics.median(imports),
            "import_min_ms": min(imports),
            "import_max_ms": max(imports),
            "container_ms": statistics.median(sample[1] * 1000 for sample in samples),
        }

    result: dict[str, Any] = {
        "runs": args.runs,
        "architecture": architecture,
        "modules": modules,
        "with_bytecode": figures(runs["with"]),
        "without_bytecode": figures(runs["without"]),
    }
    result["ratio"] = result["without_bytecode"]["import_ms"] / result["with_bytecode"]["import_ms"]
    print(
        f"Cold `import api.main`, python3.13 in {image}, bundle read-only at /var/task"
        f" ({modules} modules), median of {args.runs} new containers each",
        file=out,
    )
    print(f"{'':22}{'import':>10}{'min':>9}{'max':>9}{'container':>12}", file=out)
    for name in ("with_bytecode", "without_bytecode"):
        row = result[name]
        print(
            f"{name.replace('_', ' '):22}{row['import_ms']:>8.0f}ms{row['import_min_ms']:>7.0f}ms"
            f"{row['import_max_ms']:>7.0f}ms{row['container_ms']:>10.0f}ms",
            file=out,
        )
    print(f"without / with: {result['ratio']:.2f}x", file=out)
    if args.json:
        emit_json(result)


if __name__ == "__main__":
    main()

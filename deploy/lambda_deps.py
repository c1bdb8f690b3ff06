#!/usr/bin/env python3
"""Lambda bundles for python3.13 on arm64, built from any host without Docker.

    lambda_deps.py lock                 refresh deploy/requirements-<function>.txt (needs PyPI)
    lambda_deps.py bundle ...           what `sam build` runs (src/Makefile): install, copy, compile
    lambda_deps.py verify ...           check a built bundle: arm64 binaries, only its own packages

The lock pins every distribution with the hash of the wheel Lambda will run, so `sam build`
installs exactly what was reviewed, and pip refuses anything else.
"""

from __future__ import annotations

import argparse
import compileall
import json
import py_compile
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEPLOY_DIR = Path(__file__).resolve().parent
ROOT_DIR = DEPLOY_DIR.parent
SRC_DIR = ROOT_DIR / "src"

PYTHON_VERSION = (3, 13)
"""The template's `Runtime: python3.13`; tests hold the two together."""
LAMBDA_MACHINE = "aarch64"
"""The template's `Architectures: [arm64]`."""
LAMBDA_GLIBC_MINOR = 34
"""Lambda's python3.13 runs on Amazon Linux 2023 (glibc 2.34): any manylinux wheel up to it runs."""
LAMBDA_PLATFORMS = (
    f"manylinux2014_{LAMBDA_MACHINE}",
    *(f"manylinux_2_{minor}_{LAMBDA_MACHINE}" for minor in range(17, LAMBDA_GLIBC_MINOR + 1)),
)
TASK_ROOT = "/var/task"


@dataclass(frozen=True, slots=True)
class FunctionBundle:
    """What one function's zip holds: its locked requirements and its own source packages."""

    requirements: str
    packages: tuple[str, ...]
    forbidden: tuple[str, ...]
    """Top-level names that must not be in the zip (the other function's code and libraries)."""

    @property
    def requirements_in(self) -> Path:
        return DEPLOY_DIR / f"{self.requirements}.in"

    @property
    def requirements_lock(self) -> Path:
        return DEPLOY_DIR / f"{self.requirements}.txt"


FUNCTIONS: Mapping[str, FunctionBundle] = {
    "ApiFunction": FunctionBundle(
        requirements="requirements-api",
        packages=("api", "assets"),
        forbidden=("worker", "local_stack", "testbed", "PIL", "moto"),
    ),
    "WorkerFunction": FunctionBundle(
        requirements="requirements-worker",
        packages=("worker", "assets"),
        forbidden=(
            "api",
            "local_stack",
            "testbed",
            "fastapi",
            "starlette",
            "mangum",
            "jose",
            "moto",
        ),
    ),
}


def pip_platform_arguments() -> list[str]:
    """pip flags that pick wheels for the Lambda runtime, whatever the host is."""
    arguments = ["--only-binary=:all:", "--implementation", "cp"]
    arguments += ["--python-version", ".".join(map(str, PYTHON_VERSION))]
    for platform in LAMBDA_PLATFORMS:
        arguments += ["--platform", platform]
    return arguments


# --- lock ------------------------------------------------------------------------------------


def lock_lines(report: Mapping[str, Any]) -> list[str]:
    """`name==version --hash=sha256:...` lines, sorted, from a `pip install --report` document."""
    lines = []
    for item in report["install"]:
        metadata = item["metadata"]
        digest = item["download_info"].get("archive_info", {}).get("hashes", {}).get("sha256")
        if not digest:
            raise ValueError(f"pip reported no sha256 for {metadata['name']}")
        name = str(metadata["name"]).lower().replace("_", "-")
        lines.append(f"{name}=={metadata['version']} \\\n    --hash=sha256:{digest}")
    return sorted(lines)


def lock(function: FunctionBundle) -> None:
    """Resolve a function's `.in` file for the Lambda platform and write its hashed lock."""
    with tempfile.TemporaryDirectory() as scratch:
        report_path = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
        command += ["--quiet", "--report", str(report_path), "--target", str(Path(scratch) / "t")]
        command += [*pip_platform_arguments(), "-r", str(function.requirements_in)]
        subprocess.run(command, check=True)  # noqa: S603 - our own interpreter, fixed arguments
        report = json.loads(report_path.read_text(encoding="utf-8"))
    header = (
        f"# Locked from {function.requirements_in.name} for Lambda python"
        f"{'.'.join(map(str, PYTHON_VERSION))} on arm64 by deploy/lambda_deps.py lock;"
        " do not edit.\n"
    )
    function.requirements_lock.write_text(
        header + "\n".join(lock_lines(report)) + "\n", encoding="utf-8"
    )


# --- bundle ----------------------------------------------------------------------------------


def install_requirements(lock_file: Path, target: Path) -> None:
    """Install a hashed lock into `target` as Lambda wheels; nothing unpinned gets in."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--require-hashes", "--no-deps", "--no-compile", "--no-warn-conflicts"]
    command += ["--target", str(target), *pip_platform_arguments(), "-r", str(lock_file)]
    subprocess.run(command, check=True)  # noqa: S603 - our own interpreter, fixed arguments
    # Console scripts carry the build host's interpreter path; Lambda never runs them.
    shutil.rmtree(target / "bin", ignore_errors=True)


def copy_packages(source: Path, packages: Iterable[str], target: Path) -> None:
    """Copy the function's own packages, without caches or anything not Python."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    for package in packages:
        destination = target / package
        if destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(source / package, destination, ignore=ignore)


def compile_bytecode(target: Path) -> bool:
    """Precompile for python3.13 when this interpreter is 3.13; False when it cannot.

    /var/task is read-only, so without shipped bytecode every cold start compiles every module
    it imports. Unchecked-hash pycs stay valid whatever mtimes the zip round-trip leaves.
    """
    if sys.version_info[:2] != PYTHON_VERSION:
        return False
    compiled = compileall.compile_dir(
        target,
        quiet=1,
        workers=0,
        ddir=TASK_ROOT,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not compiled:
        raise RuntimeError(f"compiling {target} for python3.13 failed")
    return True


def bundle(function: FunctionBundle, target: Path, source: Path = SRC_DIR) -> None:
    """Everything `sam build` puts in one function's zip."""
    target.mkdir(parents=True, exist_ok=True)
    install_requirements(function.requirements_lock, target)
    copy_packages(source, function.packages, target)
    if not compile_bytecode(target):
        print(
            f"lambda_deps: {sys.executable} is not python{'.'.join(map(str, PYTHON_VERSION))};"
            " shipping without bytecode (cold starts compile on import). Set PYTHON=python3.13.",
            flush=True,  # stdout: `sam build` shows make's stdout, not its stderr
        )


# --- verify ----------------------------------------------------------------------------------

_ELF_MAGIC = b"\x7fELF"
_EM_AARCH64 = 183


def elf_machine(path: Path) -> int | None:
    """The ELF `e_machine` of a shared object, or None if the file is not ELF."""
    with path.open("rb") as stream:
        header = stream.read(20)
    if len(header) < 20 or not header.startswith(_ELF_MAGIC):
        return None
    byteorder: Any = "little" if header[5] == 1 else "big"
    return int.from_bytes(header[18:20], byteorder)


def bundle_problems(function: FunctionBundle, root: Path) -> list[str]:
    """Why a built bundle would not run as this function on Lambda (empty when it would)."""
    problems = []
    top_level = {path.name for path in root.iterdir()}
    for package in function.packages:
        if not (root / package / "__init__.py").is_file():
            problems.append(f"{package}/ is missing")
    problems += [f"{name} must not be bundled" for name in function.forbidden if name in top_level]
    tag = f"cpython-{PYTHON_VERSION[0]}{PYTHON_VERSION[1]}-"
    for shared_object in sorted(root.rglob("*.so*")):
        relative = shared_object.relative_to(root)
        machine = elf_machine(shared_object)
        if machine is not None and machine != _EM_AARCH64:
            problems.append(f"{relative} is not an arm64 binary (ELF machine {machine})")
        name = shared_object.name
        if ".cpython-" in name and tag not in name:
            problems.append(f"{relative} is built for another Python than 3.13")
        if ".cpython-" in name and LAMBDA_MACHINE not in name:
            problems.append(f"{relative} is built for another architecture")
    return problems


# --- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: `lock`, `bundle` or `verify`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    lock_command = commands.add_parser("lock", help="refresh the hashed locks from the .in files")
    lock_command.add_argument("functions", nargs="*", metavar="function", help=", ".join(FUNCTIONS))
    bundle_command = commands.add_parser("bundle", help="build one function into a directory")
    bundle_command.add_argument("function", choices=FUNCTIONS)
    bundle_command.add_argument("target", type=Path)
    verify_command = commands.add_parser("verify", help="check `sam build` output")
    verify_command.add_argument("build_dir", type=Path, help="e.g. .aws-sam/build")
    args = parser.parse_args(argv)

    if args.command == "lock":
        unknown = sorted(set(args.functions) - set(FUNCTIONS))
        if unknown:
            parser.error(f"unknown function(s): {', '.join(unknown)}")
        if sys.version_info[:2] != PYTHON_VERSION:
            # pip evaluates environment markers against the interpreter running it.
            parser.error(f"run the lock with python{'.'.join(map(str, PYTHON_VERSION))}")
        for name in args.functions or FUNCTIONS:
            lock(FUNCTIONS[name])
            print(f"locked {FUNCTIONS[name].requirements_lock.relative_to(ROOT_DIR)}")
        return 0
    if args.command == "bundle":
        bundle(FUNCTIONS[args.function], args.target)
        return 0
    failed = False
    for name, function in FUNCTIONS.items():
        problems = bundle_problems(function, args.build_dir / name)
        for problem in problems:
            print(f"{name}: {problem}", file=sys.stderr)
        failed = failed or bool(problems)
        if not problems:
            print(f"{name}: arm64/python3.13 bundle with {', '.join(function.packages)} only")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

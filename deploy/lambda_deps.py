#!/usr/bin/env python3
"""Lambda bundles for python3.13 on arm64 or x86_64, built from any host without Docker.

    lambda_deps.py lock                 refresh deploy/requirements-<name>.txt (needs PyPI)
    lambda_deps.py bundle ...           what `sam build` runs (src/Makefile): install, copy, compile
    lambda_deps.py verify ...           check built bundles: their architecture, only their own code
    lambda_deps.py runtime-client ...   the runtime interface client of the local Lambda image

The lock pins every distribution with the hashes of the wheels Lambda will run, on either
architecture, so `sam build` installs exactly what was reviewed, and pip refuses anything else.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import py_compile
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEPLOY_DIR = Path(__file__).resolve().parent
ROOT_DIR = DEPLOY_DIR.parent
SRC_DIR = ROOT_DIR / "src"

PYTHON_VERSION = (3, 13)
"""The template's `Runtime: python3.13`; tests hold the two together."""
ARCHITECTURES: Mapping[str, str] = {"arm64": "aarch64", "x86_64": "x86_64"}
"""The template's `Architecture` values, and the machine name each has in wheel tags and ELF."""
DEFAULT_ARCHITECTURE = "arm64"
"""The `Architecture` parameter's default: what `sam deploy` ships unless told otherwise."""
LAMBDA_GLIBC_MINOR = 34
"""Lambda's python3.13 runs on Amazon Linux 2023 (glibc 2.34): any manylinux wheel up to it runs."""
TASK_ROOT = "/var/task"
RUNTIME_CLIENT_REQUIREMENTS = "requirements-runtime-client"
"""awslambdaric for the local Lambda image (scripts/lambda-image); in no bundle."""
LOCAL_IMAGE = "public.ecr.aws/lambda/python:3.13-{architecture}"
"""The name SAM runs python3.13 functions in: AWS's image, or the one scripts/lambda-image builds."""


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


class BuildError(RuntimeError):
    """A bundle cannot be built as asked; the message says why and what to do."""


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
    # The custom resource that makes the CloudFront signing key: runs once per deploy.
    "SigningKeyFunction": FunctionBundle(
        requirements="requirements-signing-key",
        packages=("signing_key",),
        forbidden=("api", "worker", "assets", "local_stack", "fastapi", "PIL", "jose", "moto"),
    ),
}


def lambda_platforms(architecture: str = DEFAULT_ARCHITECTURE) -> tuple[str, ...]:
    """The wheel platform tags Lambda's python3.13 loads on one architecture."""
    machine = ARCHITECTURES[architecture]
    newer = (f"manylinux_2_{minor}_{machine}" for minor in range(17, LAMBDA_GLIBC_MINOR + 1))
    return (f"manylinux2014_{machine}", *newer)


def pip_platform_arguments(architecture: str = DEFAULT_ARCHITECTURE) -> list[str]:
    """pip flags that pick wheels for the Lambda runtime, whatever the host is."""
    arguments = ["--only-binary=:all:", "--implementation", "cp"]
    arguments += ["--python-version", ".".join(map(str, PYTHON_VERSION))]
    for tag in lambda_platforms(architecture):
        arguments += ["--platform", tag]
    return arguments


def host_architecture() -> str | None:
    """This machine's architecture in the template's words, or None if Lambda has no such one."""
    machine = platform.machine().lower()
    aliases = {"amd64": "x86_64", "arm64": "aarch64"}
    machine = aliases.get(machine, machine)
    return next((name for name, tag in ARCHITECTURES.items() if tag == machine), None)


def sam_build_architecture(function_name: str, build_dir: Path) -> tuple[str, Path] | None:
    """The architecture `sam build` resolved for a function, and where it said so.

    SAM passes make nothing but ARTIFACTS_DIR, but it writes its build graph (`build.toml`, one
    entry per function with the architecture the template resolves to, parameter overrides
    included) beside the build directory before it builds anything.
    """
    for directory in (build_dir, build_dir.parent):
        graph = directory / "build.toml"
        if not graph.is_file():
            continue
        with graph.open("rb") as stream:
            definitions = tomllib.load(stream).get("function_build_definitions", {})
        for definition in definitions.values():
            if function_name in definition.get("functions", []):
                architecture = str(definition.get("architecture", ""))
                if architecture not in ARCHITECTURES:
                    raise BuildError(f"{graph}: {function_name} has architecture {architecture!r}")
                return architecture, graph
    return None


# --- lock ------------------------------------------------------------------------------------


def lock_lines(*reports: Mapping[str, Any]) -> list[str]:
    """`name==version --hash=sha256:...` entries, sorted, from `pip install --report` documents.

    One report per architecture: each distribution must resolve to the same version in all of
    them, and its entry lists every wheel's hash (one for a pure-Python wheel, one per
    architecture for a binary one), so pip accepts exactly those wheels and no other.
    """
    versions: dict[str, str] = {}
    hashes: dict[str, set[str]] = {}
    for report in reports:
        for item in report["install"]:
            metadata = item["metadata"]
            digest = item["download_info"].get("archive_info", {}).get("hashes", {}).get("sha256")
            if not digest:
                raise ValueError(f"pip reported no sha256 for {metadata['name']}")
            name = str(metadata["name"]).lower().replace("_", "-")
            version = str(metadata["version"])
            if versions.setdefault(name, version) != version:
                raise ValueError(
                    f"{name} resolves to {versions[name]} and {version} on different"
                    " architectures; pin one version in the .in file"
                )
            hashes.setdefault(name, set()).add(digest)
    return [
        f"{name}=={versions[name]} \\\n"
        + " \\\n".join(f"    --hash=sha256:{digest}" for digest in sorted(hashes[name]))
        for name in sorted(versions)
    ]


def locked_versions(lock_file: Path) -> list[str]:
    """`name==version` for every entry of an existing lock (empty if there is none)."""
    if not lock_file.is_file():
        return []
    return [
        line.split(" ", 1)[0]
        for line in lock_file.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith(("#", " "))
    ]


def lock(requirements: str, *, upgrade: bool = False) -> None:
    """Resolve `<requirements>.in` for Lambda on every architecture and write its hashed lock.

    Without `upgrade`, what the lock already pins stays pinned (as pip-compile does), so adding
    one requirement does not move every other one.
    """
    requirements_in = DEPLOY_DIR / f"{requirements}.in"
    requirements_lock = DEPLOY_DIR / f"{requirements}.txt"
    reports = []
    with tempfile.TemporaryDirectory() as scratch:
        constraints = Path(scratch) / "constraints.txt"
        pins = [] if upgrade else locked_versions(requirements_lock)
        constraints.write_text("".join(f"{pin}\n" for pin in pins), encoding="utf-8")
        for architecture in ARCHITECTURES:
            report_path = Path(scratch) / f"report-{architecture}.json"
            command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
            command += ["--quiet", "--report", str(report_path)]
            command += ["--target", str(Path(scratch) / "t"), "-c", str(constraints)]
            command += [*pip_platform_arguments(architecture), "-r", str(requirements_in)]
            subprocess.run(command, check=True)  # noqa: S603 - our own interpreter, fixed arguments
            reports.append(json.loads(report_path.read_text(encoding="utf-8")))
    header = (
        f"# Locked from {requirements_in.name} for Lambda python"
        f"{'.'.join(map(str, PYTHON_VERSION))} on {' and '.join(ARCHITECTURES)}"
        " by deploy/lambda_deps.py lock; do not edit.\n"
    )
    requirements_lock.write_text(header + "\n".join(lock_lines(*reports)) + "\n", encoding="utf-8")


# --- bundle ----------------------------------------------------------------------------------


def install_requirements(
    lock_file: Path, target: Path, architecture: str = DEFAULT_ARCHITECTURE
) -> None:
    """Install a hashed lock into `target` as Lambda wheels; nothing unpinned gets in."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--require-hashes", "--no-deps", "--no-compile", "--no-warn-conflicts"]
    command += ["--target", str(target), *pip_platform_arguments(architecture)]
    command += ["-r", str(lock_file)]
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
        force=True,  # a stale timestamp pyc beside a source would otherwise be kept
        workers=0,
        ddir=TASK_ROOT,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not compiled:
        raise RuntimeError(f"compiling {target} for python3.13 failed")
    return True


_COMPILEALL = ["-m", "compileall", "-q", "-f", "-j", "0", "--invalidation-mode", "unchecked-hash"]


def other_python_compiler(target: Path) -> tuple[str, list[str]] | None:
    """What and how to compile `target` with another python3.13 on PATH, if one runs."""
    python = shutil.which(f"python{PYTHON_VERSION[0]}.{PYTHON_VERSION[1]}")
    if python is None:
        return None
    try:
        # A version manager's shim can be on PATH and still refuse to run.
        probe = subprocess.run(  # noqa: S603 - a python3.13 found on PATH, fixed arguments
            [python, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if probe.stdout.strip() != "True":
        return None
    return python, [python, *_COMPILEALL, "-d", TASK_ROOT, str(target)]


def image_compiler(target: Path) -> tuple[str, list[str]] | None:
    """What and how to compile `target` with the python3.13 of a local Lambda image, if any.

    The image is the one `sam local` runs functions in (AWS's, or scripts/lambda-image's), for
    this machine's architecture: bytecode is the same on every architecture. The bundle is
    mounted where Lambda mounts it, so tracebacks name /var/task as they would on Lambda.
    """
    docker = shutil.which("docker")
    architecture = host_architecture()
    if docker is None or architecture is None:
        return None
    image = LOCAL_IMAGE.format(architecture=architecture)
    try:
        found = subprocess.run(  # noqa: S603 - the docker CLI, fixed arguments
            [docker, "image", "inspect", "--format", "{{.Id}}", image],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if found.returncode != 0:
        return None
    return f"python3.13 of {image}", [
        *(docker, "run", "--rm", "--network", "none", "--user", f"{os.getuid()}:{os.getgid()}"),
        *("--volume", f"{target.resolve()}:{TASK_ROOT}", "--entrypoint", "python3.13", image),
        *_COMPILEALL,
        TASK_ROOT,
    ]


def ship_bytecode(target: Path) -> str | None:
    """Compile `target` with the first python3.13 at hand; what compiled it, or None if none."""
    if compile_bytecode(target):
        return sys.executable
    for compiler in (other_python_compiler, image_compiler):
        found = compiler(target)
        if found is None:
            continue
        name, command = found
        done = subprocess.run(command, check=False)  # noqa: S603 - built above, fixed arguments
        if done.returncode != 0:
            raise RuntimeError(f"compiling {target} with {name} failed ({done.returncode})")
        return name
    return None


def bundle_architecture(
    function_name: str, target: Path, requested: str | None = None
) -> tuple[str, str]:
    """The architecture to build a function for, and why: as asked, as `sam build` resolved
    the template (its build graph), or the template's default."""
    if requested is not None:
        return requested, "as asked"
    from_sam = sam_build_architecture(function_name, target.parent)
    if from_sam is not None:
        return from_sam[0], f"as sam build resolved the template ({from_sam[1]})"
    return DEFAULT_ARCHITECTURE, "the template's default (no sam build graph beside the target)"


def bundle(
    function: FunctionBundle,
    target: Path,
    source: Path = SRC_DIR,
    architecture: str = DEFAULT_ARCHITECTURE,
) -> None:
    """Everything `sam build` puts in one function's zip."""
    target.mkdir(parents=True, exist_ok=True)
    install_requirements(function.requirements_lock, target, architecture)
    copy_packages(source, function.packages, target)
    compiler = ship_bytecode(target)
    # stdout: `sam build` shows make's stdout, not its stderr
    if compiler is None:
        print(
            f"lambda_deps: no python{'.'.join(map(str, PYTHON_VERSION))} here ({sys.executable}"
            " is another version, none is on PATH and no local Lambda image runs); shipping"
            " without bytecode (cold starts compile on import). Set PYTHON=python3.13.",
            flush=True,
        )
    else:
        print(f"lambda_deps: bytecode compiled by {compiler}", flush=True)


# --- verify ----------------------------------------------------------------------------------

_ELF_MAGIC = b"\x7fELF"
ELF_MACHINES: Mapping[str, int] = {"arm64": 183, "x86_64": 62}
"""ELF `e_machine` of each architecture's binaries (EM_AARCH64, EM_X86_64)."""


def elf_machine(path: Path) -> int | None:
    """The ELF `e_machine` of a shared object, or None if the file is not ELF."""
    with path.open("rb") as stream:
        header = stream.read(20)
    if len(header) < 20 or not header.startswith(_ELF_MAGIC):
        return None
    byteorder: Any = "little" if header[5] == 1 else "big"
    return int.from_bytes(header[18:20], byteorder)


def bundle_problems(
    function: FunctionBundle, root: Path, architecture: str = DEFAULT_ARCHITECTURE
) -> list[str]:
    """Why a built bundle would not run as this function on Lambda (empty when it would)."""
    problems = []
    machine_name = ARCHITECTURES[architecture]
    top_level = {path.name for path in root.iterdir()}
    for package in function.packages:
        if not (root / package / "__init__.py").is_file():
            problems.append(f"{package}/ is missing")
    problems += [f"{name} must not be bundled" for name in function.forbidden if name in top_level]
    tag = f"cpython-{PYTHON_VERSION[0]}{PYTHON_VERSION[1]}-"
    for shared_object in sorted(root.rglob("*.so*")):
        relative = shared_object.relative_to(root)
        machine = elf_machine(shared_object)
        if machine is not None and machine != ELF_MACHINES[architecture]:
            problems.append(f"{relative} is not an {architecture} binary (ELF machine {machine})")
        name = shared_object.name
        if ".cpython-" in name and tag not in name:
            problems.append(f"{relative} is built for another Python than 3.13")
        if ".cpython-" in name and machine_name not in name:
            problems.append(f"{relative} is built for another architecture than {architecture}")
    return problems


def bytecode_problems(root: Path) -> list[str]:
    """Modules of a bundle without unchecked-hash python3.13 bytecode beside them."""
    tag = f"cpython-{PYTHON_VERSION[0]}{PYTHON_VERSION[1]}"
    missing = []
    for module in sorted(root.rglob("*.py")):
        pyc = module.parent / "__pycache__" / f"{module.stem}.{tag}.pyc"
        if not pyc.is_file():
            missing.append(module)
            continue
        with pyc.open("rb") as stream:
            flags = int.from_bytes(stream.read(8)[4:8], "little")
        if flags != 0b01:
            missing.append(module)
    if not missing:
        return []
    shown = ", ".join(str(path.relative_to(root)) for path in missing[:3])
    return [f"{len(missing)} modules lack unchecked-hash {tag} bytecode (e.g. {shown})"]


# --- command line ----------------------------------------------------------------------------


LOCKS: Mapping[str, str] = {
    **{name: function.requirements for name, function in FUNCTIONS.items()},
    "runtime-client": RUNTIME_CLIENT_REQUIREMENTS,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: `lock`, `bundle`, `verify` or `runtime-client`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    lock_command = commands.add_parser("lock", help="refresh the hashed locks from the .in files")
    lock_command.add_argument("locks", nargs="*", metavar="lock", help=", ".join(LOCKS))
    lock_command.add_argument(
        "--upgrade", action="store_true", help="move every pin to the newest allowed version"
    )
    bundle_command = commands.add_parser("bundle", help="build one function into a directory")
    bundle_command.add_argument("function", choices=FUNCTIONS)
    bundle_command.add_argument("target", type=Path)
    bundle_command.add_argument(
        "--architecture",
        choices=ARCHITECTURES,
        help="default: what sam build resolved (its build.toml), else the template's default",
    )
    verify_command = commands.add_parser("verify", help="check `sam build` output")
    verify_command.add_argument("build_dir", type=Path, help="e.g. .aws-sam/build")
    verify_command.add_argument(
        "--architecture",
        choices=ARCHITECTURES,
        help="default: what sam build resolved (build.toml beside build_dir), else arm64",
    )
    verify_command.add_argument(
        "--require-bytecode", action="store_true", help="fail unless every module has its .pyc"
    )
    client_command = commands.add_parser(
        "runtime-client", help="install awslambdaric (hashed) for a local Lambda image"
    )
    client_command.add_argument("target", type=Path, help="e.g. ROOTFS/var/runtime")
    client_command.add_argument("--architecture", choices=ARCHITECTURES, required=True)
    args = parser.parse_args(argv)

    try:
        if args.command == "lock":
            return _lock_command(parser, args.locks, args.upgrade)
        if args.command == "bundle":
            architecture, why = bundle_architecture(args.function, args.target, args.architecture)
            print(f"lambda_deps: {args.function} for {architecture}, {why}", flush=True)
            bundle(FUNCTIONS[args.function], args.target, architecture=architecture)
            return 0
        if args.command == "runtime-client":
            lock_file = DEPLOY_DIR / f"{RUNTIME_CLIENT_REQUIREMENTS}.txt"
            install_requirements(lock_file, args.target, args.architecture)
            return 0
        return _verify_command(args.build_dir, args.architecture, args.require_bytecode)
    except BuildError as error:
        print(f"lambda_deps: {error}", file=sys.stderr)
        return 1


def _lock_command(parser: argparse.ArgumentParser, names: Sequence[str], upgrade: bool) -> int:
    unknown = sorted(set(names) - set(LOCKS))
    if unknown:
        parser.error(f"unknown lock(s): {', '.join(unknown)}")
    if sys.version_info[:2] != PYTHON_VERSION:
        # pip evaluates environment markers against the interpreter running it.
        parser.error(f"run the lock with python{'.'.join(map(str, PYTHON_VERSION))}")
    for name in names or LOCKS:
        lock(LOCKS[name], upgrade=upgrade)
        print(f"locked deploy/{LOCKS[name]}.txt")
    return 0


def _verify_command(build_dir: Path, requested: str | None, require_bytecode: bool) -> int:
    failed = False
    for name, function in FUNCTIONS.items():
        root = build_dir / name
        from_sam = None if requested else sam_build_architecture(name, build_dir)
        architecture = requested or (from_sam[0] if from_sam else DEFAULT_ARCHITECTURE)
        problems = bundle_problems(function, root, architecture)
        bytecode = bytecode_problems(root) if root.is_dir() else []
        if require_bytecode:
            problems += bytecode
        for problem in problems:
            print(f"{name}: {problem}", file=sys.stderr)
        failed = failed or bool(problems)
        if not problems:
            shipped = "without bytecode" if bytecode else "with python3.13 bytecode"
            print(
                f"{name}: {architecture}/python3.13 bundle with {', '.join(function.packages)}"
                f" only, {shipped}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

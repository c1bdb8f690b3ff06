"""What `sam build` packs for each function: the right platform, its own code, only its imports."""

from __future__ import annotations

import ast
import importlib.metadata
import py_compile
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from deploy import lambda_deps
from deploy.lambda_deps import FUNCTIONS, FunctionBundle

from tests.unit.template.cfn import properties, resources, template

FIRST_PARTY = frozenset({"api", "assets", "worker", "local_stack", "testbed"})
_LOCK_LINE = re.compile(
    r"^([a-z0-9][a-z0-9.-]*)==([^\s\\]+)((?: \\\n    --hash=sha256:[0-9a-f]{64})+)$", re.M
)
# Binary distributions: a wheel per architecture. Everything else in the locks is pure Python.
BINARY = frozenset(
    {
        "cffi",
        "cryptography",
        "pydantic-core",
        "pillow",
        "awslambdaric",
        "simplejson",
        "isal",
        "zlib-ng",
    }
)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(line: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
    assert match, line
    return _normalise(match[0])


def _locked(function: FunctionBundle) -> dict[str, str]:
    text = function.requirements_lock.read_text(encoding="utf-8")
    return {_normalise(name): version for name, version, _ in _LOCK_LINE.findall(text)}


def _hashes(lock_file: Path) -> dict[str, list[str]]:
    text = lock_file.read_text(encoding="utf-8")
    return {
        _normalise(name): re.findall(r"sha256:([0-9a-f]{64})", hashes)
        for name, _, hashes in _LOCK_LINE.findall(text)
    }


def _declared(function: FunctionBundle) -> set[str]:
    lines = function.requirements_in.read_text(encoding="utf-8").splitlines()
    return {_requirement_name(line) for line in lines if line.strip() and not line.startswith("#")}


def _runtime_imports(packages: tuple[str, ...]) -> set[str]:
    """Top-level modules the packages import at run time (not under `if TYPE_CHECKING:`)."""
    found: set[str] = set()
    for package in packages:
        for path in (lambda_deps.SRC_DIR / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            skipped = {
                id(child)
                for node in ast.walk(tree)
                if isinstance(node, ast.If)
                and isinstance(node.test, ast.Name)
                and node.test.id == "TYPE_CHECKING"
                for child in ast.walk(node)
            }
            for node in ast.walk(tree):
                if id(node) in skipped:
                    continue
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module.split(".")[0])
    return found - {"__future__"} - set(sys.stdlib_module_names)


# --- the template and the builder agree ------------------------------------------------------


def test_every_function_is_built_by_the_makefile_for_the_runtime_the_template_names() -> None:
    functions = resources("AWS::Serverless::Function")
    assert set(functions) == set(FUNCTIONS)
    makefile = (lambda_deps.SRC_DIR / "Makefile").read_text(encoding="utf-8")
    for logical_id, resource in functions.items():
        assert resource["Metadata"]["BuildMethod"] == "makefile"
        assert re.search(rf"^build-{logical_id}:\n\t.+ bundle {logical_id} ", makefile, re.M)
        handler_package = resource["Properties"]["Handler"].split(".")[0]
        assert handler_package in FUNCTIONS[logical_id].packages
    runtime = template()["Globals"]["Function"]["Runtime"]
    assert runtime == "python{}.{}".format(*lambda_deps.PYTHON_VERSION)
    assert template()["Globals"]["Function"]["Architectures"] == [{"Ref": "Architecture"}]
    assert template()["Globals"]["Function"]["CodeUri"] == "src/"


def test_the_architecture_parameter_offers_what_the_builder_builds() -> None:
    parameter = template()["Parameters"]["Architecture"]
    assert parameter["Type"] == "String"
    assert parameter["AllowedValues"] == list(lambda_deps.ARCHITECTURES) == ["arm64", "x86_64"]
    assert parameter["Default"] == lambda_deps.DEFAULT_ARCHITECTURE == "arm64"
    assert lambda_deps.ARCHITECTURES == {"arm64": "aarch64", "x86_64": "x86_64"}
    assert lambda_deps.ELF_MACHINES == {"arm64": 183, "x86_64": 62}
    # No function picks its own: both follow the parameter through Globals.
    for resource in resources("AWS::Serverless::Function").values():
        assert "Architectures" not in resource["Properties"]


def test_pip_picks_lambda_wheels_whatever_the_host() -> None:
    arguments = lambda_deps.pip_platform_arguments()
    assert "--only-binary=:all:" in arguments
    assert arguments[arguments.index("--python-version") + 1] == "3.13"
    assert arguments[arguments.index("--implementation") + 1] == "cp"
    platforms = [arguments[i + 1] for i, flag in enumerate(arguments) if flag == "--platform"]
    assert platforms[0] == "manylinux2014_aarch64"
    # Amazon Linux 2023 has glibc 2.34: newer wheels would not load, older ones all do.
    assert platforms[-1] == "manylinux_2_34_aarch64"
    assert all(platform.endswith("_aarch64") for platform in platforms)


def test_pip_picks_x86_64_wheels_for_an_x86_64_stack() -> None:
    arguments = lambda_deps.pip_platform_arguments("x86_64")
    platforms = [arguments[i + 1] for i, flag in enumerate(arguments) if flag == "--platform"]
    assert platforms[0] == "manylinux2014_x86_64"
    assert platforms[-1] == "manylinux_2_34_x86_64"
    assert all(platform.endswith("_x86_64") for platform in platforms)
    assert arguments[arguments.index("--python-version") + 1] == "3.13"
    with pytest.raises(KeyError):
        lambda_deps.pip_platform_arguments("i386")


# --- locks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCTIONS)
def test_locks_pin_every_distribution_with_a_hash(name: str) -> None:
    function = FUNCTIONS[name]
    text = function.requirements_lock.read_text(encoding="utf-8")
    entries = [line for line in text.split("\n") if line and not line.startswith(("#", "    "))]
    assert len(entries) == len(_locked(function)), "every entry is name==version + sha256"
    assert _declared(function) <= set(_locked(function)), "the lock resolves every .in entry"


@pytest.mark.parametrize("lock", lambda_deps.LOCKS.values())
def test_locks_carry_a_wheel_hash_for_each_architecture(lock: str) -> None:
    # GIVEN a lock resolved for arm64 and for x86_64
    lock_file = lambda_deps.DEPLOY_DIR / f"{lock}.txt"
    assert "on arm64 and x86_64" in lock_file.read_text(encoding="utf-8").splitlines()[0]
    hashes = _hashes(lock_file)
    assert hashes, f"{lock_file.name} pins nothing"
    for name, digests in hashes.items():
        assert digests == sorted(set(digests)), f"{name}: hashes sorted, no repeats"
        # THEN a binary distribution has one wheel per architecture, a pure one a single wheel
        expected = len(lambda_deps.ARCHITECTURES) if name in BINARY else 1
        assert len(digests) == expected, f"{name} in {lock_file.name}: {digests}"


def test_the_runtime_client_lock_is_awslambdaric_for_the_local_image() -> None:
    lock_file = lambda_deps.DEPLOY_DIR / f"{lambda_deps.RUNTIME_CLIENT_REQUIREMENTS}.txt"
    assert "awslambdaric" in _hashes(lock_file)
    bundled = set().union(*(_locked(function) for function in FUNCTIONS.values()))
    assert "awslambdaric" not in bundled, "the runtime client belongs to the image, not a bundle"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_bundles_what_it_imports_and_declares_nothing_it_does_not(name: str) -> None:
    # GIVEN the modules the function's own packages import at run time
    function = FUNCTIONS[name]
    imports = _runtime_imports(function.packages)
    # THEN its first-party imports are its own packages (the other function's are not bundled)
    assert imports & FIRST_PARTY <= set(function.packages)
    # AND every third-party import comes from a distribution in its lock
    distributions = importlib.metadata.packages_distributions()
    third_party = imports - FIRST_PARTY
    provided = {
        module: {_normalise(d) for d in distributions.get(module, [])} for module in third_party
    }
    locked = set(_locked(function))
    missing = {module: dists for module, dists in provided.items() if not dists & locked}
    assert not missing, f"{name} imports {missing} but its lock does not bundle them"
    # AND each distribution it declares is one it imports
    imported_distributions = set().union(*provided.values())
    assert _declared(function) <= imported_distributions, "declared but never imported"


def test_the_bundles_differ_where_the_functions_do() -> None:
    api, worker = (set(_locked(FUNCTIONS[name])) for name in ("ApiFunction", "WorkerFunction"))
    assert "pillow" in worker
    assert "pillow" not in api
    assert {"fastapi", "mangum", "python-jose"} <= api
    assert not {"fastapi", "mangum", "python-jose"} & worker
    assert {"boto3"} <= api & worker, "boto3 is bundled, not the runtime's"


def test_lock_lines_are_sorted_hashed_pins() -> None:
    report = {
        "install": [
            {
                "metadata": {"name": "Pydantic_Core", "version": "2.0"},
                "download_info": {"archive_info": {"hashes": {"sha256": "b" * 64}}},
            },
            {
                "metadata": {"name": "annotated-types", "version": "0.7"},
                "download_info": {"archive_info": {"hashes": {"sha256": "a" * 64}}},
            },
        ]
    }
    assert lambda_deps.lock_lines(report) == [
        f"annotated-types==0.7 \\\n    --hash=sha256:{'a' * 64}",
        f"pydantic-core==2.0 \\\n    --hash=sha256:{'b' * 64}",
    ]
    unhashed = {"install": [{"metadata": {"name": "x", "version": "1"}, "download_info": {}}]}
    with pytest.raises(ValueError, match="no sha256 for x"):
        lambda_deps.lock_lines(unhashed)


def _report(*entries: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "install": [
            {
                "metadata": {"name": name, "version": version},
                "download_info": {"archive_info": {"hashes": {"sha256": digest}}},
            }
            for name, version, digest in entries
        ]
    }


def test_lock_lines_merge_architectures_into_one_entry_per_distribution() -> None:
    # GIVEN the same resolution for arm64 and x86_64: a binary wheel each, one pure wheel
    arm = _report(("cffi", "2.0", "c" * 64), ("idna", "3.0", "a" * 64))
    x86 = _report(("cffi", "2.0", "b" * 64), ("idna", "3.0", "a" * 64))
    # THEN each distribution is pinned once, with every wheel's hash, sorted
    assert lambda_deps.lock_lines(arm, x86) == [
        f"cffi==2.0 \\\n    --hash=sha256:{'b' * 64} \\\n    --hash=sha256:{'c' * 64}",
        f"idna==3.0 \\\n    --hash=sha256:{'a' * 64}",
    ]
    # AND two architectures that resolve to different versions are refused, not half-locked
    newer = _report(("cffi", "2.1", "d" * 64))
    with pytest.raises(ValueError, match=r"cffi resolves to 2\.0 and 2\.1"):
        lambda_deps.lock_lines(arm, newer)


def test_a_new_lock_keeps_the_versions_the_old_one_pinned(tmp_path: Path) -> None:
    lock_file = tmp_path / "requirements-x.txt"
    assert lambda_deps.locked_versions(lock_file) == []
    lock_file.write_text(
        "# header\n"
        + "\n".join(
            lambda_deps.lock_lines(_report(("cffi", "2.0", "c" * 64), ("idna", "3.1", "a" * 64)))
        )
        + "\n",
        encoding="utf-8",
    )
    assert lambda_deps.locked_versions(lock_file) == ["cffi==2.0", "idna==3.1"]


# --- bundling and verification ---------------------------------------------------------------


def _elf(machine: int) -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\0" * 11 + machine.to_bytes(2, "little") + b"\0" * 44


def _fake_bundle(root: Path, function: FunctionBundle, machine: str = "aarch64") -> None:
    for package in function.packages:
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "pydantic_core").mkdir()
    elf = _elf(183 if machine == "aarch64" else 62)
    (root / "pydantic_core" / f"_core.cpython-313-{machine}-linux-gnu.so").write_bytes(elf)


def _sam_build_graph(build_dir: Path, architecture: str) -> None:
    """What `sam build` writes beside its build directory before it builds (build.toml)."""
    entries = [
        f'[function_build_definitions.uuid-{index}]\ncodeuri = "src"\nruntime = "python3.13"\n'
        f'architecture = "{architecture}"\nhandler = "x.handler"\npackagetype = "Zip"\n'
        f'functions = ["{name}"]\n\n[function_build_definitions.uuid-{index}.metadata]\n'
        'BuildMethod = "makefile"\n'
        for index, name in enumerate(FUNCTIONS)
    ]
    text = "# This file is auto generated by SAM CLI build command\n\n" + "\n".join(entries)
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    (build_dir.parent / "build.toml").write_text(text + "\n[layer_build_definitions]\n")


def test_a_correct_bundle_passes_verification(tmp_path: Path) -> None:
    for name, function in FUNCTIONS.items():
        _fake_bundle(tmp_path / name, function)
        assert lambda_deps.bundle_problems(function, tmp_path / name) == []
    assert lambda_deps.main(["verify", str(tmp_path)]) == 0


def test_verification_catches_wrong_platform_foreign_code_and_missing_code(tmp_path: Path) -> None:
    # GIVEN an API bundle built on an x86 host for Python 3.11, with the worker copied in
    function = FUNCTIONS["ApiFunction"]
    _fake_bundle(tmp_path, function)
    (tmp_path / "PIL").mkdir()
    (tmp_path / "assets" / "__init__.py").unlink()
    native = tmp_path / "pydantic_core" / "_core.cpython-311-x86_64-linux-gnu.so"
    native.write_bytes(_elf(62))
    # WHEN it is verified
    problems = lambda_deps.bundle_problems(function, tmp_path)
    # THEN every one of those is named
    assert "assets/ is missing" in problems
    assert "PIL must not be bundled" in problems
    assert any("not an arm64 binary (ELF machine 62)" in p for p in problems)
    assert any("another Python than 3.13" in p for p in problems)
    assert any("another architecture" in p for p in problems)


def test_verification_holds_an_x86_64_build_to_x86_64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN `sam build --parameter-overrides Architecture=x86_64` output with x86_64 binaries
    build_dir = tmp_path / "build"
    _sam_build_graph(build_dir, "x86_64")
    for name, function in FUNCTIONS.items():
        _fake_bundle(build_dir / name, function, machine="x86_64")
    # THEN verify reads the architecture from SAM's build graph and passes it
    assert lambda_deps.main(["verify", str(build_dir)]) == 0
    assert "ApiFunction: x86_64/python3.13 bundle" in capsys.readouterr().out
    # AND the same bundles checked as arm64 fail, naming the binary
    assert lambda_deps.main(["verify", str(build_dir), "--architecture", "arm64"]) == 1
    assert "not an arm64 binary (ELF machine 62)" in capsys.readouterr().err
    # AND an arm64 binary in an x86_64 build is caught
    worker = build_dir / "WorkerFunction"
    (worker / "pydantic_core" / "_core.cpython-313-aarch64-linux-gnu.so").write_bytes(_elf(183))
    assert lambda_deps.main(["verify", str(build_dir)]) == 1
    err = capsys.readouterr().err
    assert "not an x86_64 binary (ELF machine 183)" in err
    assert "another architecture than x86_64" in err


def test_bundles_are_built_for_the_architecture_sam_build_resolved(tmp_path: Path) -> None:
    build_dir = tmp_path / ".aws-sam" / "build"
    target = build_dir / "ApiFunction"
    # Without a build graph: the template's default
    assert lambda_deps.bundle_architecture("ApiFunction", target)[0] == "arm64"
    # With `sam build --parameter-overrides Architecture=x86_64`'s graph: x86_64, and why
    _sam_build_graph(build_dir, "x86_64")
    architecture, why = lambda_deps.bundle_architecture("ApiFunction", target)
    assert architecture == "x86_64"
    assert str(build_dir.parent / "build.toml") in why
    # An explicit choice wins over both
    assert lambda_deps.bundle_architecture("ApiFunction", target, "arm64")[0] == "arm64"
    # A graph naming an architecture Lambda does not have stops the build
    _sam_build_graph(build_dir, "mips")
    with pytest.raises(lambda_deps.BuildError, match="'mips'"):
        lambda_deps.bundle_architecture("ApiFunction", target)


def test_bytecode_check_names_modules_without_unchecked_python313_bytecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("A = 1\n")
    (tmp_path / "pkg" / "b.py").write_text("B = 2\n")
    assert lambda_deps.bytecode_problems(tmp_path) == [
        "2 modules lack unchecked-hash cpython-313 bytecode (e.g. pkg/a.py, pkg/b.py)"
    ]
    # Timestamp-checked pycs do not count: the zip's mtimes would invalidate them
    tag = f"cpython-{sys.version_info[0]}{sys.version_info[1]}"
    monkeypatch.setattr(lambda_deps, "PYTHON_VERSION", sys.version_info[:2])
    py_compile.compile(str(tmp_path / "pkg" / "a.py"))
    assert (tmp_path / "pkg" / "__pycache__" / f"a.{tag}.pyc").is_file()
    assert len(lambda_deps.bytecode_problems(tmp_path)) == 1
    assert lambda_deps.ship_bytecode(tmp_path) == sys.executable
    assert lambda_deps.bytecode_problems(tmp_path) == []


def test_copy_packages_leaves_caches_behind(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "pkg" / "__pycache__").mkdir(parents=True)
    (source / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    (source / "pkg" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"stale")
    (source / "pkg" / ".hidden").write_text("secret")
    target = tmp_path / "out"
    lambda_deps.copy_packages(source, ["pkg"], target)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == [
        "pkg",
        "pkg/__init__.py",
    ]


def test_bytecode_is_compiled_only_by_the_lambda_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "module.py").write_text("VALUE = 1\n")
    if sys.version_info[:2] != lambda_deps.PYTHON_VERSION:
        assert lambda_deps.compile_bytecode(tmp_path) is False
        assert not list(tmp_path.rglob("*.pyc"))
    # GIVEN this interpreter taken for the Lambda one
    monkeypatch.setattr(lambda_deps, "PYTHON_VERSION", sys.version_info[:2])
    assert lambda_deps.compile_bytecode(tmp_path) is True
    (pyc,) = tmp_path.rglob("*.pyc")
    flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
    # THEN the pyc is hash-based and unchecked: valid whatever mtime the zip gives the source
    assert flags == 0b01


def test_the_deploy_requirements_keep_tools_apart() -> None:
    deploy = lambda_deps.DEPLOY_DIR
    for tool in ("sam", "checkov", "jsonschema"):
        requirements = (deploy / f"requirements-{tool}.txt").read_text(encoding="utf-8")
        assert f"-c constraints-{tool}.txt" in requirements
        pins = [line for line in requirements.splitlines() if line and line[0].isalpha()]
        assert pins, f"{tool}: names its tools"
        assert all("==" in line for line in pins), f"{tool}: top-level tools are pinned"
        constraints = (deploy / f"constraints-{tool}.txt").read_text(encoding="utf-8")
        for pin in pins:
            assert pin in constraints.splitlines(), f"{pin} is in constraints-{tool}.txt"
    assert properties("ApiFunction")["Handler"] == "api.main.handler"

"""What `sam build` packs for each function: the right platform, its own code, only its imports."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest
from deploy import lambda_deps
from deploy.lambda_deps import FUNCTIONS, FunctionBundle

from tests.unit.template.cfn import properties, resources, template

FIRST_PARTY = frozenset({"api", "assets", "worker", "local_stack", "testbed"})
_LOCK_LINE = re.compile(
    r"^([a-z0-9][a-z0-9.-]*)==([^\s\\]+) \\\n    --hash=sha256:[0-9a-f]{64}$", re.M
)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(line: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
    assert match, line
    return _normalise(match[0])


def _locked(function: FunctionBundle) -> dict[str, str]:
    text = function.requirements_lock.read_text(encoding="utf-8")
    return {_normalise(name): version for name, version in _LOCK_LINE.findall(text)}


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
    assert template()["Globals"]["Function"]["Architectures"] == ["arm64"]
    assert lambda_deps.LAMBDA_MACHINE == "aarch64"
    assert template()["Globals"]["Function"]["CodeUri"] == "src/"


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


# --- locks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCTIONS)
def test_locks_pin_every_distribution_with_a_hash(name: str) -> None:
    function = FUNCTIONS[name]
    text = function.requirements_lock.read_text(encoding="utf-8")
    entries = [line for line in text.split("\n") if line and not line.startswith(("#", "    "))]
    assert len(entries) == len(_locked(function)), "every entry is name==version + sha256"
    assert _declared(function) <= set(_locked(function)), "the lock resolves every .in entry"


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


# --- bundling and verification ---------------------------------------------------------------


def _elf(machine: int) -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\0" * 11 + machine.to_bytes(2, "little") + b"\0" * 44


def _fake_bundle(root: Path, function: FunctionBundle) -> None:
    for package in function.packages:
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "pydantic_core").mkdir()
    (root / "pydantic_core" / "_core.cpython-313-aarch64-linux-gnu.so").write_bytes(_elf(183))


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

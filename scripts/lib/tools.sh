# shellcheck shell=bash
# Sourced by scripts/check-template and scripts/test-sam: the pinned deployment tools, one venv
# each under $TOOLS_VENV (default .venv-tools). SAM CLI, checkov and check-jsonschema pin click,
# urllib3, boto3... at versions that cannot share an environment. Each is rebuilt only when its
# pins (deploy/requirements-<tool>.txt, deploy/constraints-<tool>.txt) change.

TOOLS_VENV="${TOOLS_VENV:-.venv-tools}"

# The first of the given interpreters that runs and is Python 3.11-3.13.
first_python() {
  local candidate
  for candidate in "$@"; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

tools_python=""
install_tool() {
  local tool=$1 venv="$TOOLS_VENV/$1" digest
  digest="$(cat "deploy/requirements-$tool.txt" "deploy/constraints-$tool.txt" | sha256sum | cut -d' ' -f1)"
  if [[ -x "$venv/bin/python" && "$(cat "$venv/.installed" 2>/dev/null)" == "$digest" ]]; then
    echo "$tool: up to date"
    return 0
  fi
  if [[ -z "$tools_python" ]]; then
    tools_python="$(first_python python3.13 python3.12 python3.11 python3)" || {
      echo "needs Python 3.11-3.13 for the tools" >&2; return 1; }
  fi
  echo "$tool: installing deploy/requirements-$tool.txt into $venv ($("$tools_python" --version))"
  rm -rf "$venv"
  "$tools_python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet -r "deploy/requirements-$tool.txt"
  "$venv/bin/python" -m pip check >/dev/null
  echo "$digest" > "$venv/.installed"
}

# install_tools TOOL...: all of them side by side; fails if any failed.
install_tools() {
  local pid pids=() failed=0
  for tool in "$@"; do install_tool "$tool" & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  return "$failed"
}

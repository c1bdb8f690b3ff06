#!/usr/bin/env bash
# Publish site/ to a deployed stack: config.js from the stack's outputs, then sync and invalidate.
#   deploy/publish-site.sh <stack-name> [--region REGION]
# Needs Python with boto3 (the app's .venv, or the SAM CLI venv) and AWS credentials.
set -euo pipefail
[[ $# -ge 1 && $1 != -* ]] || { echo "usage: $0 <stack-name> [--region REGION]" >&2; exit 2; }
root="$(cd "$(dirname "$0")/.." && pwd)"
stack="$1"; shift
exec "${PYTHON:-python3}" "$root/deploy/publish_site.py" --stack-name "$stack" --site-dir "$root/site" "$@"

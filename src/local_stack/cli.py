"""`python -m local_stack`: run the system locally, add users, try an upload.

python -m local_stack                      start everything (what `make dev` runs)
python -m local_stack --for-sam            moto + worker + CDN, for `sam local start-api`
python -m local_stack users add EMAIL      another sign-in for the running stack
python -m local_stack users list
python -m local_stack upload IMAGE...      sign in, upload each, wait for ready, print the URLs
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from local_stack.options import PROJECT_DIR, StackOptions
from local_stack.state import StateFileError, read_state

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack",
        description="The whole system on this machine: moto (S3, SQS, DynamoDB, Cognito), the API, the worker, the CDN and the page.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    StackOptions.add_arguments(
        commands.add_parser("up", help="start the local stack (the default command)")
    )

    users = commands.add_parser("users", help="manage sign-ins of the running stack")
    users_commands = users.add_subparsers(dest="users_command", required=True)
    add = users_commands.add_parser(
        "add", help="create a user (e-mail verified, password permanent)"
    )
    add.add_argument("email")
    add.add_argument(
        "password", nargs="?", help="omit to be prompted (or to read one line from stdin)"
    )
    users_list = users_commands.add_parser("list", help="list the users")

    upload = commands.add_parser(
        "upload", help="upload images as the demo user and wait for each to be decided"
    )
    upload.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    upload.add_argument("--email", help="sign in as this user (default: the demo user)")
    upload.add_argument("--password")
    upload.add_argument("--content-type", help="default: from each file's name")
    upload.add_argument("--title", help="the title every image gets")
    upload.add_argument(
        "--album",
        help="an album of the user's, by id or by exact name (it must exist: make it on the page)",
    )
    for sub in (add, users_list, upload):
        sub.add_argument("--state-dir", type=Path, default=PROJECT_DIR / ".local")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m local_stack`."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or (arguments[0].startswith("-") and arguments[0] not in ("-h", "--help")):
        arguments.insert(0, "up")
    args = _parser().parse_args(arguments)
    try:
        if args.command == "up":
            return _up(args)
        if args.command == "users":
            return _users(args)
        return _upload(args)
    except StateFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _up(args: argparse.Namespace) -> int:
    from local_stack.stack import run_stack

    try:
        options = StackOptions.from_arguments(args)
    except ValidationError as error:
        for problem in error.errors():
            print(f"error: {str(problem['msg']).removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    return run_stack(options)


def _users(args: argparse.Namespace) -> int:
    from local_stack.aws import MotoClients
    from local_stack.provision import create_user

    info = read_state(args.state_dir)
    cognito = MotoClients(info.awsEndpointUrl, info.region).cognito
    try:
        if args.users_command == "list":
            paginator = cognito.get_paginator("list_users")
            for page in paginator.paginate(UserPoolId=info.userPoolId):
                for user in page.get("Users", []):
                    attributes = {a["Name"]: a.get("Value", "") for a in user.get("Attributes", [])}
                    print(
                        f"{attributes.get('email', user.get('Username'))}\t{user.get('UserStatus')}"
                    )
            return 0
        password = args.password or _read_password()
        create_user(cognito, info.userPoolId, args.email, password)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "InvalidPasswordException":
            print(
                "error: the user pool refuses that password: it needs "
                + _policy_words(cognito, info.userPoolId),
                file=sys.stderr,
            )
        elif code == "UsernameExistsException":
            print(f"error: {args.email} already exists", file=sys.stderr)
        else:
            print(f"error: {error}", file=sys.stderr)
        return 1
    except BotoCoreError as error:
        print(
            f"error: cannot reach the local stack at {info.awsEndpointUrl}: {error}",
            file=sys.stderr,
        )
        return 1
    print(f"Created {args.email}: sign in at {info.pageUrl}")
    return 0


def _policy_words(cognito: CognitoIdentityProviderClient, user_pool_id: str) -> str:
    """The running pool's password rules, in words."""
    from local_stack.provision import describe_password_policy

    try:
        pool = cognito.describe_user_pool(UserPoolId=user_pool_id)["UserPool"]
    except (ClientError, BotoCoreError):
        return "a stronger password (see the pool's policy in template.yaml)"
    return describe_password_policy(dict(pool.get("Policies", {}).get("PasswordPolicy", {})))


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise SystemExit("error: the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


def _upload(args: argparse.Namespace) -> int:
    from local_stack.uploads import upload_files

    return upload_files(
        read_state(args.state_dir),
        args.images,
        email=args.email,
        password=args.password,
        content_type=args.content_type,
        title=args.title,
        album=args.album,
    )

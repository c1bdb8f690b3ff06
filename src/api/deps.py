"""Dependencies routes declare: the asset service and the authenticated caller.

Everything here is `async`: FastAPI runs a sync dependency or route in a worker thread, and under
Lambda each of those hops (several per request) costs more than the request's own work. Blocking
AWS calls go through `run_blocking` instead, which decides once per request where they may run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.errors import Unauthenticated
from api.security import CognitoTokenVerifier, Principal, TokenRejected
from api.service import AssetService

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="CognitoBearer",
    bearerFormat="JWT",
    description="A Cognito user pool ID or access token for this app's client: "
    "`Authorization: Bearer <token>`.",
)


async def get_service(request: Request) -> AssetService:
    service: AssetService = request.app.state.service
    return service


P = ParamSpec("P")
T = TypeVar("T")


async def run_blocking(
    request: Request, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run blocking I/O inline under Lambda, which serves one request per process at a time, and
    in a worker thread under a server such as uvicorn, which serves many on one event loop."""
    if "aws.event" in request.scope:
        return function(*args, **kwargs)
    return await run_in_threadpool(function, *args, **kwargs)


async def get_current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The caller a valid Cognito bearer token proves; 401 for anything else."""
    if credentials is None:
        given = "authorization" in request.headers
        raise Unauthenticated("a bearer token is required", token_given=given)
    verifier: CognitoTokenVerifier = request.app.state.verifier
    try:
        # May fetch the JWKS (once per process): blocking I/O.
        return await run_blocking(request, verifier.verify, credentials.credentials)
    except TokenRejected as error:
        raise Unauthenticated(f"invalid token: {error}", token_given=True) from error


ServiceDep = Annotated[AssetService, Depends(get_service)]
CurrentUser = Annotated[Principal, Depends(get_current_user)]

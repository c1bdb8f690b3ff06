"""Dependencies routes declare: the settings, the asset service and the authenticated caller.

The accessors are `async` because they do no I/O: FastAPI would otherwise hop to a thread for each.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import Unauthenticated
from api.security import CognitoTokenVerifier, Principal, TokenRejected
from api.service import AssetService
from assets.settings import ApiSettings

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="CognitoBearer",
    bearerFormat="JWT",
    description="A Cognito user pool ID or access token for this app's client: "
    "`Authorization: Bearer <token>`.",
)


async def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


async def get_service(request: Request) -> AssetService:
    service: AssetService = request.app.state.service
    return service


async def get_verifier(request: Request) -> CognitoTokenVerifier:
    verifier: CognitoTokenVerifier = request.app.state.verifier
    return verifier


def get_current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    verifier: Annotated[CognitoTokenVerifier, Depends(get_verifier)],
) -> Principal:
    """The caller a valid Cognito bearer token proves; 401 for anything else."""
    if credentials is None:
        given = "authorization" in request.headers
        raise Unauthenticated("a bearer token is required", token_given=given)
    try:
        return verifier.verify(credentials.credentials)
    except TokenRejected as error:
        raise Unauthenticated(f"invalid token: {error}", token_given=True) from error


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
ServiceDep = Annotated[AssetService, Depends(get_service)]
CurrentUser = Annotated[Principal, Depends(get_current_user)]

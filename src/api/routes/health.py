"""Liveness: the only route without authentication; it touches nothing."""

from __future__ import annotations

from fastapi import APIRouter

from api.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness check", response_model=HealthResponse)
async def health() -> HealthResponse:
    """Answers 200 while the process can serve requests; needs no token."""
    return HealthResponse()

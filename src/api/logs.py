"""The API's structured logger: JSON lines, one per request, never a token or a header."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="asset-api")

"""The API's structured logger: JSON lines, one per request, never a token or a header."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="asset-api")
# Every request line comes from the same function, so `location` says nothing there and costs a
# third of the line's formatting; exceptions keep their traceback.
logger.remove_keys(["location"])

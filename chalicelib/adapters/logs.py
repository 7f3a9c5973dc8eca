"""Structured JSON logs. Phone numbers are masked; message text is never logged."""
from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="sms-bridge")


def mask(phone: str | None) -> str:
    """+14155550123 -> +1415*****23: enough to tell numbers apart, not to dial."""
    if not phone:
        return "-"
    keep_head = 5 if phone.startswith("+") else 4
    if len(phone) <= keep_head + 2:
        return "*" * len(phone)
    return phone[:keep_head] + "*" * (len(phone) - keep_head - 2) + phone[-2:]

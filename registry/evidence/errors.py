"""The one error evidence verification raises."""

from __future__ import annotations


class VerificationError(Exception):
    """A piece of evidence failed a check.

    ``check`` names the check that failed (``"inclusion"``, ``"consistency"``, ...)
    so callers can report or branch on it without parsing the message.
    """

    def __init__(self, check: str, message: str):
        super().__init__(check, message)
        self.check = check
        self.message = message

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"

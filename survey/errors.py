"""Domain errors. Each carries a Chinese message a user can act on, naming the field or row."""

from __future__ import annotations


class SurveyError(Exception):
    """Base class: str(error) is the Chinese message shown to the user."""


class NotFoundError(SurveyError):
    pass


class ValidationError(SurveyError):
    """Bad input; `field` names the field (or row) concerned."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class InUseError(SurveyError):
    """Refused because other records still use the entry."""


class LimitError(SurveyError):
    """Refused because a limit is reached (e.g. a client's subscriptions); the message says which
    limit and what to do."""


class PermissionDeniedError(SurveyError):
    pass


class AuthError(SurveyError):
    pass

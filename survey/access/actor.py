"""Who is acting: every domain read and write takes an Actor. Nothing here depends on another
survey module but the role labels, so anything may import it without a cycle."""

from __future__ import annotations

from dataclasses import dataclass, field

from survey.labels import ROLE_LABELS


@dataclass(frozen=True)
class Actor:
    """A signed-in user (or the system, or another system's API client) with their roles and
    department. An API client's roles are 'client' and one 'scope:<name>' per scope it holds; its
    rows are limited to a department or a district, or not at all."""

    id: int | None
    username: str
    display_name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    department_code: str | None = None
    must_change_password: bool = False
    district_code: str | None = None
    company_id: int | None = None  # a company's own view (role 'company'): that company alone

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def role_labels(self) -> str:
        return "、".join(ROLE_LABELS[r] for r in ROLE_LABELS if r in self.roles)


# Command-line tools, seeds and migrations act as this actor; it holds every role.
SYSTEM = Actor(None, "system", "系统", frozenset(ROLE_LABELS))

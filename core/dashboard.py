"""The editors' dashboard: the admin's first page starts with what needs someone today, each
a count that links to the list it counts.

Each app registers its own entries (in its AppConfig.ready), so this module knows no app. An
entry is shown only to staff with its permission; its count is one query, and its link lands on
the admin list filtered to exactly what was counted.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class Entry:
    label: str  # lazily translated
    permission: str  # "app_label.codename"
    count: Callable[[], int]  # one query
    changelist: str  # the admin URL name of the list, e.g. "admin:directory_specialist_changelist"
    query: str  # its filters, e.g. "verification=stale"

    @property
    def url(self) -> str:
        return f"{reverse(self.changelist)}?{self.query}"


ENTRIES: list[Entry] = []


def register(*entries: Entry) -> None:
    ENTRIES.extend(entry for entry in entries if entry not in ENTRIES)


def entries_for(user) -> list[tuple[Entry, int]]:
    """The entries `user` may see, with their counts, in the order registered."""
    return [(entry, entry.count()) for entry in ENTRIES if user.has_perm(entry.permission)]

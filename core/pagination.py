"""Page links for every paginated list: first and last, the pages around the current one with
gaps between, previous and next; each link keeps the list's parameters (the caller builds the
URL of a page)."""

from collections.abc import Callable
from dataclasses import dataclass

AROUND = 2  # pages shown on each side of the current one


@dataclass(frozen=True)
class PageLink:
    number: int | None  # None: a gap ("…")
    url: str = ""
    current: bool = False


@dataclass(frozen=True)
class Pagination:
    number: int
    total: int
    links: tuple[PageLink, ...]
    previous_url: str
    next_url: str


def paginate(number: int, total: int, url: Callable[[int], str]) -> Pagination | None:
    """The links for page `number` of `total`, or None when there is only one page (or the
    number is out of range)."""
    if total <= 1 or not 1 <= number <= total:
        return None
    shown = sorted({1, total, *range(max(1, number - AROUND), min(total, number + AROUND) + 1)})
    links: list[PageLink] = []
    for page in shown:
        if links and links[-1].number is not None and page - links[-1].number > 1:
            links.append(PageLink(None))
        links.append(PageLink(page, url(page), page == number))
    return Pagination(
        number=number,
        total=total,
        links=tuple(links),
        previous_url=url(number - 1) if number > 1 else "",
        next_url=url(number + 1) if number < total else "",
    )

"""The article body format: Markdown (CommonMark, by markdown-it-py) with raw HTML switched off,
then sanitised against an allowlist (nh3), so an editor can write without HTML and nothing
typed can run on the site. Headings get IDs for the table of contents."""

import re
from dataclasses import dataclass, field
from html import unescape

import nh3
from markdown_it import MarkdownIt

from directory.models import slugify_name

ALLOWED_TAGS = {
    "p", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "a", "blockquote", "code", "pre",
    "br", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}

_markdown = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")
_HEADING = re.compile(r'<h([23]) id="([^"]+)">(.*?)</h\1>', re.S)


@dataclass
class Heading:
    level: int
    anchor: str
    text: str
    children: list["Heading"] = field(default_factory=list)


def render(text: str) -> str:
    """Markdown to sanitised HTML. Level-1 headings become level 2: the page has its own h1."""
    tokens = _markdown.parse(text or "")
    taken: set[str] = set()
    for index, token in enumerate(tokens):
        if token.type in {"heading_open", "heading_close"} and token.tag == "h1":
            token.tag = "h2"
        if token.type == "heading_open":
            title = tokens[index + 1].content
            anchor = base = slugify_name(title) or "section"
            number = 2
            while anchor in taken:
                anchor, number = f"{base}-{number}", number + 1
            taken.add(anchor)
            token.attrSet("id", anchor)
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    return sanitise(html)


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


def headings(html: str) -> list[Heading]:
    """The h2 and h3 headings of rendered HTML, in order, for the table of contents. Their text
    is plain (tags removed, entities decoded): the template escapes it once."""
    return [
        Heading(int(level), anchor, unescape(nh3.clean(text, tags=set())))
        for level, anchor, text in _HEADING.findall(html)
    ]


def contents(html: str) -> list[Heading]:
    """The table of contents: the h2 headings, each with the h3 headings under it (numbered 7.1,
    7.2 by the stylesheet, not continuing the top level)."""
    top: list[Heading] = []
    for heading in headings(html):
        if heading.level == 3 and top:
            top[-1].children.append(heading)
        else:
            top.append(heading)
    return top

"""Template tools for page metadata: JSON-LD blocks, breadcrumbs with their BreadcrumbList, and
`capture`, which renders a block once and keeps it for the title and the Open Graph tags."""

import json

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from core import languages
from directory.seo import breadcrumb_list

register = template.Library()

# As django.utils.html.json_script does: nothing in the data can close the script element.
_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.filter
def jsonld(data) -> str:
    """A schema.org object as a <script type="application/ld+json"> block."""
    text = json.dumps(
        data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")
    ).translate(_JSON_ESCAPES)
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(text))  # noqa: S308


@register.simple_tag
def translated_path(path: str, language: str) -> str:
    """The same page in `language`: `path` is a captured (already escaped) canonical path with
    its query, so the alternates name the canonical URL of each language."""
    return mark_safe(languages.translated_path(path, language))  # noqa: S308 - escaped by capture


@register.simple_tag
def unprefixed_path(path: str) -> str:
    """The page without its language prefix (x-default: it redirects by the browser's
    language)."""
    language = get_language()
    prefix = f"/{language}/"
    return mark_safe("/" + path[len(prefix) :] if path.startswith(prefix) else path)  # noqa: S308


@register.simple_tag(takes_context=True)
def absolute_url(context, url: str) -> str:
    """`url` as an absolute URL: a path on this site, or a URL on another host (a media bucket)
    as it is."""
    return context["request"].build_absolute_uri(url)


@register.inclusion_tag("includes/breadcrumbs.html", takes_context=True)
def breadcrumbs(context, crumbs):
    """The breadcrumb trail and its BreadcrumbList; `crumbs` is a list of directory.seo.Crumb."""
    return {"crumbs": crumbs, "structured": breadcrumb_list(context["request"], crumbs)}


class CaptureNode(template.Node):
    def __init__(self, nodelist, name):
        self.nodelist, self.name = nodelist, name

    def render(self, context):
        # Rendered output is already escaped; keep it safe so it is not escaped twice.
        context[self.name] = mark_safe(self.nodelist.render(context).strip())  # noqa: S308
        return ""


@register.tag
def capture(parser, token):
    """{% capture as name %}...{% endcapture %}: render the content into `name`."""
    bits = token.split_contents()
    if len(bits) != 3 or bits[1] != "as":
        raise template.TemplateSyntaxError("Usage: {% capture as name %}...{% endcapture %}")
    nodelist = parser.parse(("endcapture",))
    parser.delete_first_token()
    return CaptureNode(nodelist, bits[2])

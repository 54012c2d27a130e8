"""`{% picture %}`: a photo or logo from its renditions, or an initials placeholder without one.

The browser gets WebP through `<source srcset>` and a JPEG or PNG fallback in `<img src>`; the
size is fixed (width and height attributes and the CSS box), so nothing moves while it loads.
"""

from django import template

from directory.images import RENDITION_WIDTHS

register = template.Library()


def initials(name: str) -> str:
    """Up to two capital letters from the first letters of a name's words ("HK", "UZ")."""
    # Each letter capitalised on its own, and cut to one: "ß".upper() is "SS".
    letters = [word[0].upper()[:1] for word in name.split() if word[:1].isalpha()]
    return "".join(letters[:1] + letters[-1:] if len(letters) > 1 else letters)


@register.inclusion_tag("includes/picture.html")
def picture(images, size: int, alt: str, css_class: str, name: str = "", lazy=True):
    """`images` are a field's renditions (Specialist.photo_renditions, Clinic.logo_renditions);
    `size` is the displayed width and height in CSS pixels; `name` gives the initials shown
    when there is no picture; `lazy` is off for a picture at the top of the page."""
    # Enough widths for screens up to three device pixels per CSS pixel, and no more: a card's
    # markup stays small on a page of twenty.
    enough = next((width for width in RENDITION_WIDTHS if width >= 3 * size), RENDITION_WIDTHS[-1])
    candidates = [image for image in images if image["width"] <= enough]
    fallback = next(
        (image for image in images if image["width"] >= 2 * size), images[-1] if images else None
    )
    return {
        "candidates": candidates,
        "fallback": fallback,
        "size": size,
        "alt": alt,
        "css_class": css_class,
        "initials": initials(name),
        "lazy": lazy,
    }

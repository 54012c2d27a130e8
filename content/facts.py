"""The operator's facts on the site's own pages (content.models.Page), read from the settings.

Two ways in, both escaped:

- The legal notice, the contact page and the privacy policy show the operator's details in a
  box the template renders (`operator()`), whatever the editors wrote, so the facts the law asks
  for are always there and always current.
- An editor's text may name them with placeholders, `{operator_name}`, `{privacy_email}`,
  `{retention_days}` and the others of PLACEHOLDERS. They are filled in when the page is shown,
  in the text of its sanitised HTML only (never inside a tag), each value escaped; addresses
  become mailto links unless they already stand inside a link. Unknown names stay as written.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

PLACEHOLDERS = (
    "operator_name",
    "operator_address",
    "operator_email",
    "operator_phone",
    "operator_register",
    "privacy_email",
    "retention_days",
    "report_retention_days",
)

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# A tag of sanitised HTML: its attribute values are always double-quoted and may hold ">".
_TAG = re.compile(r'(<(?:[^>"]|"[^"]*")*>)')


@dataclass(frozen=True)
class Operator:
    name: str
    address: tuple[str, ...]
    email: str
    phone: str
    register: str
    privacy_email: str

    @property
    def phone_link(self) -> str:
        """The phone number for a tel: link: digits and a leading +."""
        return re.sub(r"[^\d+]", "", self.phone)


def operator() -> Operator:
    return Operator(
        name=settings.OPERATOR_NAME,
        address=tuple(settings.OPERATOR_ADDRESS),
        email=settings.OPERATOR_EMAIL,
        phone=settings.OPERATOR_PHONE,
        register=settings.OPERATOR_REGISTER,
        privacy_email=settings.PRIVACY_EMAIL,
    )


def _mailto(address: str) -> str:
    return format_html('<a href="mailto:{}">{}</a>', address, address) if address else ""


def placeholder_values() -> dict[str, tuple[str, str]]:
    """Each placeholder's HTML as (inside a link, elsewhere)."""
    facts = operator()
    plain = {
        "operator_name": escape(facts.name),
        "operator_address": mark_safe("<br>".join(escape(line) for line in facts.address)),  # noqa: S308 - escaped lines
        "operator_email": escape(facts.email),
        "operator_phone": escape(facts.phone),
        "operator_register": escape(facts.register),
        "privacy_email": escape(facts.privacy_email),
        "retention_days": escape(str(settings.APPOINTMENT_RETENTION_DAYS)),
        "report_retention_days": escape(str(settings.FACT_REPORT_RETENTION_DAYS)),
    }
    linked = {**plain, "operator_email": _mailto(facts.email)}
    linked["privacy_email"] = _mailto(facts.privacy_email)
    return {name: (plain[name], linked[name]) for name in PLACEHOLDERS}


def fill(html: str) -> SafeString:
    """Sanitised HTML with its placeholders filled in (see the module's description)."""
    values = placeholder_values()
    parts = _TAG.split(html)
    in_link = 0
    for index, part in enumerate(parts):
        if index % 2:  # a tag
            if re.match(r"<a[\s>]", part):
                in_link += 1
            elif part == "</a>":
                in_link = max(in_link - 1, 0)
            continue

        def value(match: re.Match, in_link=in_link) -> str:
            found = values.get(match.group(1))
            return match.group(0) if found is None else found[0 if in_link else 1]

        parts[index] = _PLACEHOLDER.sub(value, part)
    return mark_safe("".join(parts))  # noqa: S308 - sanitised HTML and escaped values

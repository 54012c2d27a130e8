"""The practice's link to its weekly times (directory.slots: WeeklyTemplate): a page where a
practice without booking software enters and changes the times the site makes free slots from,
and the days without any, without an account.

As the links of the conversation about a request (appointments.conversation), the link is a
signed value (django.core.signing) naming the template and its link version. It works for
APPOINTMENT_LINK_DAYS; an editor's "Withdraw the links" moves the version on, and every link
sent so far stops working. It goes only to the practice's confirmed address for requests
(appointments.recipients): the specialist's own, else that of the clinic of the place of work
(for a clinic's own times, the clinic's). Times are public: no health data is involved.
"""

import logging

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from appointments import recipients
from appointments.conversation import LinkError
from directory.models import WeeklyTemplate

logger = logging.getLogger(__name__)

SALT = "appointments.link.weekly-times"


def token(template: WeeklyTemplate) -> str:
    return signing.dumps({"t": template.pk, "v": template.link_version}, salt=SALT)


def language(template: WeeklyTemplate) -> str:
    return recipients.practice_language(template.listing)


def link(template: WeeklyTemplate) -> str:
    """The absolute link, in the practice's language."""
    with translation.override(language(template)):
        path = reverse("appointments:weekly-times", args=[token(template)])
    return settings.SITE_URL + path


def address(template: WeeklyTemplate) -> str:
    """The practice's confirmed address for requests, or "" when it has none (then no link is
    sent: the site's inbox is not the practice). A query or two."""
    if template.affiliation_id:
        found = recipients.address_in_force(template.affiliation.specialist)
        return found or recipients.address_in_force(template.affiliation.clinic)
    return recipients.address_in_force(template.location.clinic)


def open_link(value: str) -> WeeklyTemplate:
    """The template a link stands for, with its place. Raises LinkError ("invalid", "expired",
    "revoked" or "gone")."""
    try:
        data = signing.loads(value, salt=SALT, max_age=settings.APPOINTMENT_LINK_DAYS * 86400)
    except signing.SignatureExpired:
        raise LinkError("expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise LinkError("invalid") from None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(key), int) and not isinstance(data.get(key), bool) for key in ("t", "v")
    ):
        raise LinkError("invalid")
    template = (
        WeeklyTemplate.objects.select_related(
            "affiliation__specialist", "affiliation__clinic", "location__clinic"
        )
        .filter(pk=data["t"])
        .first()
    )
    if template is None:
        raise LinkError("gone")
    if template.link_version != data["v"]:
        raise LinkError("revoked")
    return template


def send(template: WeeklyTemplate) -> bool:
    """Mail the practice a link to its weekly times; False when it has no confirmed address.
    Raises the mail backend's error."""
    to = address(template)
    if not to:
        return False
    with translation.override(language(template)):
        context = {
            "template": template,
            "listing": template.listing,
            "location": template.location,
            "link": link(template),
            "days": settings.APPOINTMENT_LINK_DAYS,
        }
        subject = render_to_string("appointments/email/weekly_times_subject.txt", context)
        body = render_to_string("appointments/email/weekly_times.txt", context)
    EmailMessage(subject.strip(), body, to=[to], reply_to=[settings.APPOINTMENT_INBOX_EMAIL]).send()
    return True


def revoke(template: WeeklyTemplate) -> None:
    """Every link sent for these times so far stops working."""
    WeeklyTemplate.objects.filter(pk=template.pk).update(link_version=F("link_version") + 1)
    template.refresh_from_db(fields=["link_version"])

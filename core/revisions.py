"""Drafts of published text: an editor saves a change to a live entry as a revision, the live
entry stays online, staff preview the revision on the site (`?revision=<number>`), and it is
published at once or at a set time (`manage.py publish_revisions`, on a timer), replacing the
live text in one transaction. Published revisions keep the text they replaced: the entry's
history, each with a side-by-side comparison and a revert (a new revision of the old text).

django-reversion keeps every saved version of an article; it has no notion of a change that is
saved but not live, which is what a revision is. Publishing goes through the entry's ordinary
save, so reversion records the published version too, with its own history and revert.

Which fields a model's revisions hold is said by its admin (RevisionAdmin.revisable_fields):
text fields only, in each language.
"""

import difflib
import logging

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from core.models import Revision

logger = logging.getLogger(__name__)

State = Revision.State


def of(obj: models.Model):
    """The entry's revisions."""
    return Revision.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    )


def pending(obj: models.Model) -> Revision | None:
    """The entry's draft, if it has one."""
    return of(obj).filter(state=State.PENDING).select_related("author").first()


def history(obj: models.Model) -> list[Revision]:
    """The entry's published revisions, newest first."""
    return list(of(obj).filter(state=State.PUBLISHED).select_related("author", "published_by"))


def live_values(obj: models.Model, fields) -> dict:
    return {name: getattr(obj, name) or "" for name in fields}


class ConflictError(Exception):
    """The live text of these fields changed after the draft was saved: publishing it would
    undo that change."""

    def __init__(self, fields: list[str]):
        super().__init__(", ".join(fields))
        self.fields = fields


def save_draft(obj: models.Model, values: dict, user) -> Revision:
    """Keep `values` (field -> text) as the entry's draft: its draft so far, or a new one. The
    draft holds the fields whose text differs from the live text, and (in `replaced`, until it
    is published) the live text they had when first drafted, to tell at publishing whether
    someone changed them since. The entry's row is locked meanwhile, so two editors saving
    at once take turns."""
    model = type(obj)
    with transaction.atomic():
        live = model._default_manager.select_for_update().get(pk=obj.pk)
        draft = of(obj).select_for_update().filter(state=State.PENDING).first()
        if draft is None:
            draft = Revision(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)
        current = live_values(live, values)
        changed = {name: value for name, value in values.items() if not _same(current[name], value)}
        base = {name: draft.replaced.get(name, current[name]) for name in changed}
        draft.data, draft.replaced, draft.author = changed, base, user
        draft.save()
    return draft


def settle(draft: Revision, before: dict, after: dict, user) -> None:
    """The draft was published by saving the form that showed it: record what the save
    replaced and what it wrote (the editor may have changed the draft's text further)."""
    Revision.objects.filter(pk=draft.pk, state=State.PENDING).update(
        state=State.PUBLISHED,
        data={name: value for name, value in after.items() if not _same(before[name], value)},
        replaced={name: before[name] for name in after if not _same(before[name], after[name])},
        published_at=timezone.now(),
        published_by=user,
        modified=timezone.now(),
    )


def apply(obj: models.Model, revision: Revision) -> models.Model:
    """The entry as the revision would make it, in memory (for a preview, or before a save)."""
    for name, value in revision.data.items():
        setattr(obj, name, value)
    if hasattr(obj, "render_text"):
        obj.render_text()  # what the page shows is made from the text (an article's HTML)
    return obj


def for_preview(request, obj: models.Model, permission: str) -> Revision | None:
    """The draft named by `?revision=`, applied to `obj`, for staff who may view the entry;
    else None and `obj` as it is."""
    number = request.GET.get("revision", "")
    if not number.isascii() or not number.isdigit() or len(number) > 18:
        return None
    if not (request.user.is_staff and request.user.has_perm(permission)):
        return None
    revision = of(obj).filter(pk=int(number), state=State.PENDING).first()
    if revision is not None:
        apply(obj, revision)
    return revision


def publish(revision: Revision, user=None, comment: str = "") -> bool:
    """Replace the live text with the revision's, in one transaction; False when it is no
    longer a draft (published, discarded, or its entry is gone). Raises ConflictError, changing
    nothing, when the live text of a field it changes was changed after the draft was saved."""
    with transaction.atomic():
        revision = Revision.objects.select_for_update().filter(pk=revision.pk).first()
        if revision is None or revision.state != State.PENDING:
            return False
        model = revision.content_type.model_class()
        obj = model._default_manager.select_for_update().filter(pk=revision.object_id).first()
        if obj is None:
            revision.state = State.DISCARDED
            revision.save(update_fields=["state", "modified"])
            return False
        current = live_values(obj, revision.data)
        moved = [n for n in revision.data if not _same(current[n], revision.replaced.get(n, ""))]
        if moved:
            raise ConflictError(moved)
        revision.replaced = current
        apply(obj, revision)
        _save(
            obj, user, comment or _("Published revision no. %(number)s") % {"number": revision.pk}
        )
        revision.state = State.PUBLISHED
        revision.published_at = timezone.now()
        revision.published_by = user
        revision.save()
    return True


def _save(obj: models.Model, user, comment: str) -> None:
    """Save through the entry's own save, recorded by django-reversion when it follows the
    model (articles), so its history has the published version."""
    import reversion

    if reversion.is_registered(type(obj)):
        with reversion.create_revision():
            obj.save()
            reversion.set_user(user)
            reversion.set_comment(comment)
    else:
        obj.save()


def revert(revision: Revision, user) -> Revision:
    """A new draft holding the text a published revision replaced (the draft the entry may
    have is replaced)."""
    obj = revision.content_type.model_class()._default_manager.get(pk=revision.object_id)
    return save_draft(obj, dict(revision.replaced), user)


def discard(revision: Revision) -> bool:
    return bool(
        Revision.objects.filter(pk=revision.pk, state=State.PENDING).update(
            state=State.DISCARDED, modified=timezone.now()
        )
    )


def schedule(revision: Revision, when) -> bool:
    """Publish the draft at `when` (None: not scheduled)."""
    return bool(
        Revision.objects.filter(pk=revision.pk, state=State.PENDING).update(
            publish_at=when, modified=timezone.now()
        )
    )


def publish_due(now=None) -> int:
    """Publish every draft whose time has come; returns how many. One failure does not stop
    the others."""
    now = now or timezone.now()
    due = Revision.objects.filter(state=State.PENDING, publish_at__lte=now).order_by("publish_at")
    published = 0
    for revision in due:
        try:
            published += publish(revision, comment=_("Published as scheduled"))
        except ConflictError:
            # Someone changed the live text since: an editor decides. It stays a draft.
            schedule(revision, None)
            logger.warning("Revision %s: not published, the live text changed.", revision.pk)
        except Exception as error:  # an entry that no longer saves: the others still go
            logger.warning("Revision %s: not published (%s).", revision.pk, type(error).__name__)
    return published


def comparison(before: dict, after: dict, labels: dict, names=("", "")) -> list[tuple[str, str]]:
    """Each field that differs, with a side-by-side table of its lines (difflib.HtmlDiff,
    which escapes the text): [(label, html)]."""
    differ = difflib.HtmlDiff(wrapcolumn=60)
    tables = []
    for name, new in after.items():
        old = before.get(name, "")
        if _same(old, new):
            continue
        table = differ.make_table(
            str(old or "").splitlines(),
            str(new or "").splitlines(),
            escape(names[0]),
            escape(names[1]),
        )
        tables.append((labels.get(name, name), mark_safe(table)))  # noqa: S308 - escaped by HtmlDiff
    return tables


def _same(old, new) -> bool:
    """The same text, whatever the line endings and the whitespace at its ends (a form's text
    field strips them)."""

    def plain(value) -> str:
        return str(value or "").replace("\r\n", "\n").strip()

    return plain(old) == plain(new)

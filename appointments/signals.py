"""A listing saved with an address proposes it as the recipient of its appointment requests
(appointments/recipients.py). Whoever saves it may set `changed_by` on the instance first (the
admin and the admin's import do); without it the change counts as a command's. A save that names
its fields (`update_fields`, as the import's bulk writes do) proposes only when `email` is one. A
clinic's international office address is proposed the same way, for requests from abroad."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from appointments import recipients
from directory.models import Clinic, Specialist


@receiver(post_save, sender=Specialist, dispatch_uid="appointments.specialist_address")
@receiver(post_save, sender=Clinic, dispatch_uid="appointments.clinic_address")
def propose_the_listings_address(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw:
        return  # fixtures load rows as they are
    by = getattr(instance, "changed_by", None)
    if update_fields is None or "email" in update_fields:
        recipients.propose(instance, instance.email, by=by)
    if isinstance(instance, Clinic) and (
        update_fields is None or "international_email" in update_fields
    ):
        recipients.propose(
            instance,
            instance.international_email,
            by=by,
            purpose=recipients.Purpose.INTERNATIONAL,
        )

"""Admin logins (django-axes): the user name that failed attempts are counted under."""

from django.contrib.auth import get_user_model

# Longer names cannot belong to anyone; counting them under their first characters keeps the
# lock-out working and the stored name within its column.
MAX_LENGTH = get_user_model()._meta.get_field("username").max_length


def axes_username(request, credentials=None) -> str:
    """The name typed at the login, without NUL characters (PostgreSQL cannot store them) and
    cut to the longest possible user name."""
    field = "username"
    if credentials:
        name = credentials.get(field) or ""
    else:
        name = getattr(request, "POST", {}).get(field) or ""
    return str(name).replace("\x00", "")[:MAX_LENGTH]

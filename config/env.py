"""Typed, checked reads of environment variables.

Every reader raises ImproperlyConfigured with the variable's name when a value is malformed, so a
bad deployment stops at start-up with a message that says what to fix.
"""

import os

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in TRUE_WORDS:
        return True
    if value.lower() in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of {sorted(TRUE_WORDS | FALSE_WORDS - {''})}, not {value!r}."
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blanks around items are ignored."""
    value = _raw(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_lines(name: str, default: list[str]) -> list[str]:
    """Lines of a multi-line value (a postal address) in one variable: separated by "|" (which
    environment files and shells keep as it is) or by real line breaks; blanks around lines and
    empty lines are dropped."""
    value = _raw(name)
    if value is None or value == "":
        return default
    return [line.strip() for line in value.replace("\n", "|").split("|") if line.strip()]


def web_workers() -> int:
    """How many processes serve the site: GUNICORN_WORKERS, else WEB_CONCURRENCY (the usual
    name elsewhere), else gunicorn's rule of thumb, two per core plus one."""
    import multiprocessing

    default = env_int("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1, minimum=1)
    return env_int("GUNICORN_WORKERS", default, minimum=1)

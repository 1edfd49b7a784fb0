"""Small helpers for trio's exception groups."""

from __future__ import annotations


def lone_exception(group: BaseExceptionGroup) -> BaseException | None:
    """The one exception inside (possibly nested) single-member groups, else None.

    trio's nurseries wrap whatever a body raised in an exception group; where
    only one thing went wrong, callers want that thing back as itself so that
    `except CliError:` and friends keep working.
    """
    while isinstance(group, BaseExceptionGroup):
        if len(group.exceptions) != 1:
            return None
        group = group.exceptions[0]
    return group

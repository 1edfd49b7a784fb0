"""Input problems the CLI turns into `dialer: <message>` (exit status 2)."""

from __future__ import annotations

from dialer.store.imports import ImportRefused
from dialer.store.lists import ListError

from .mapping import MappingError
from .normalise import RowError
from .pipeline import ImportProblem
from .reader import FileProblem

INPUT_ERRORS = (FileProblem, MappingError, ImportProblem, ImportRefused, ListError, RowError)

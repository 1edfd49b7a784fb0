"""HTTP API and web pages for operators, validators and supervisors (see docs/WEB.md)."""

from .app import Settings, create_app, serve
from .desk import DeskError, LocalDesk, OperatorDesk

__all__ = ["create_app", "serve", "Settings", "LocalDesk", "OperatorDesk", "DeskError"]

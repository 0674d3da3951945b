"""The application: commands that append the facts of the support process and reads that
show each viewer what consent and the law allow now."""

from consent.permissions import Action
from hub.application.hub import BackaHub, Views

__all__ = ["Action", "BackaHub", "Views"]
"""``Action`` names the acts the pages may ask :meth:`BackaHub.may` about before offering a form."""

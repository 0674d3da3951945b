"""The application: commands that append the facts of the support process and reads that
show each viewer what consent and the law allow now."""

from hub.application.hub import BackaHub, Views

__all__ = ["BackaHub", "Views"]

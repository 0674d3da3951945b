"""Bridges to the agencies' own systems: notifications and documents, never journal writes.

Only the composition root (``hub.bootstrap``) wires adapters in.
"""

"""Bridges to the agencies' own systems: notifications and documents, never journal writes.

Only the composition root (``hub.runtime.bootstrap``) wires adapters in.
"""

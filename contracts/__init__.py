"""The published language of the Backa barnet hub.

Everything an agency needs to build against the hub: the vocabulary of the model
(Behovskompassen, roles, unit kinds, information categories, legal bases) and the
events of the support process. This package imports nothing else of the hub.
"""

"""Views of the log, each built by a projection and each read through the consent policy."""

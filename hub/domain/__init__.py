"""The domain: the Child aggregate, its verbs, guards and past-tense facts."""

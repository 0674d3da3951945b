"""The web pages the hub serves itself: for staff, families and auditors, Swedish first.

Server-rendered (Jinja2 through Litestar), signed in with a web session
(:mod:`hub.identity.sessions`), every text from the message catalogues (:mod:`hub.web.i18n`).
Pages call the same core as the API, so each view of a child is decided by the consent
policy and recorded as a read, whichever way it is asked for.
"""

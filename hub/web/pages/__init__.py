"""The page areas: each module offers ``routes(web)``."""

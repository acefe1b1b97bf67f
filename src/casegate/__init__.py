"""casegate: an OAuth 2.0 authorization server and the case API it protects."""

__version__ = "0.1.0"

"""The Textual front end of ``mark1-assistant``."""

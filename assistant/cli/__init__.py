"""The ``mark1`` command line. Command modules are imported only when their command runs."""

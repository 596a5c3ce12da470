"""Static analysis of a repository: what it needs, what it offers, and what it risks.

Nothing here installs or executes the repository's code: files are read as text, Python is
read with ``ast``. Each scanner module takes a ``RepoFiles`` and returns ``Findings``;
``analyzer.analyze`` merges them into a ``RepositoryProfile`` and ``proposal`` turns that
into a manifest.
"""

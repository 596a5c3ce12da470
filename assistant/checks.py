"""One finding of a health check, shared by ``mark1 doctor`` and ``mark1 plugin doctor``.

The checks themselves live beside what they check (the machine in ``assistant.cli.doctor_cmd``,
a plugin in ``assistant.plugins.plugin_doctor``, the vault in ``assistant.security.vault_doctor``);
they all answer in this one shape so one printer shows them and ``--json`` is the same for both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Check:
    """``fix`` is the exact next step when ``ok`` is False; a failed check that is not
    ``required`` only warns (an optional part, or something that cannot be tested here)."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True

    @property
    def failed(self) -> bool:
        """Whether this finding makes the doctor fail (exit 1)."""
        return not self.ok and self.required

"""The value a plugin's declared environment variable takes, wherever it is kept.

In order: the host environment (it overrides everything, which is what CI wants), the vault's
secrets of this plugin only (another plugin's scope is never read), what the setup wizard
recorded, and the manifest's default. A run, a validation probe and a test suite all ask
here, so they all see the configuration the person gave.
"""

from __future__ import annotations

import os

from assistant.plugins.manifest import EnvVar
from assistant.plugins.registry import PluginRecord, PluginVersion
from assistant.security import known_secrets
from assistant.security.secret_lookup import secret_value


def variable_value(plugin: PluginVersion, var: EnvVar) -> str | None:
    value = secret_value(plugin.name, var.name)
    if value is not None:
        if var.secret:
            known_secrets.remember(value)
        return value
    configured = plugin.config.get("env", {}) if isinstance(plugin, PluginRecord) else {}
    found = configured.get(var.name, var.default)
    return str(found) if found is not None else None


def value_source(plugin: PluginRecord, var: EnvVar, stored: set[str]) -> str | None:
    """Where ``var``'s value would come from, in ``variable_value``'s order, without reading
    it (``stored``: the names the plugin's vault scope holds); None when nowhere."""
    sources = [
        ("the environment", var.name in os.environ),
        ("the vault", var.name in stored),
        ("the configuration", var.name in plugin.config.get("env", {})),
        ("the manifest's default", var.default is not None),
    ]
    return next((source for source, has in sources if has), None)


def how_to_set(plugin: PluginVersion, var: EnvVar) -> str:
    """The fix for a required variable without a value."""
    other = (
        f"mark1 secrets set {plugin.name} {var.name}" if var.secret else f"export {var.name}=..."
    )
    return f"mark1 plugin configure {plugin.name}, or {other}"


def filled_by_mark1(plugin: PluginVersion) -> set[str]:
    """The variables Mark-1 fills at run time, not the person: the OAuth sign-in's token
    (``oauth_tokens``) and the URLs of local servers (``service_runtime``)."""
    from assistant.plugins.service_runtime import local_variables

    signed_in = {plugin.manifest.oauth.token_env} if plugin.manifest.oauth else set()
    return signed_in | local_variables(plugin)

"""A plugin's OAuth token at run time: kept in the vault, refreshed before it expires, handed
to the plugin in the variable its manifest names, and masked like every other secret.

One refresh per plugin at a time: providers that rotate refresh tokens accept each one once,
so two parallel steps refreshing together would sign the person out.
"""

from __future__ import annotations

import os

from assistant.loop_locks import loop_lock
from assistant.plugins.registry import PluginVersion
from assistant.security import known_secrets
from assistant.security.oauth import OAuthSpec, access_token
from assistant.security.secret_lookup import secret_value, vault_secret
from assistant.security.vault import VaultLocked
from assistant.security.vault_key import unlocked_vault


class VaultSlot:
    """Where one plugin's token for one provider lives: its own vault scope."""

    def __init__(self, plugin: str, provider: str) -> None:
        self.scope, self.name = plugin, f"oauth.{provider}"

    def read(self) -> str | None:
        return vault_secret(self.scope, self.name)

    def write(self, value: str) -> None:
        vault = unlocked_vault()
        if vault is None:
            raise VaultLocked(
                "there is no vault to keep the sign-in in", hint="run `mark1 secrets init` first"
            )
        vault.set(self.scope, self.name, value)
        known_secrets.remember(value)


def client_secret(plugin: str, spec: OAuthSpec) -> str | None:
    return secret_value(plugin, spec.client_secret_env) if spec.client_secret_env else None


async def oauth_environment(plugin: PluginVersion) -> dict[str, str]:
    """``{token_env: access token}`` for a plugin that signs in with OAuth; {} otherwise. A
    token already in the environment wins (CI)."""
    spec = plugin.manifest.oauth
    if spec is None:
        return {}
    given = os.environ.get(spec.token_env)
    if given:
        known_secrets.remember(given)
        return {spec.token_env: given}
    async with loop_lock(f"oauth refresh {plugin.name}"):
        token = await access_token(
            spec,
            VaultSlot(plugin.name, spec.provider),
            plugin=plugin.name,
            client_secret=client_secret(plugin.name, spec),
        )
    known_secrets.remember(token)
    return {spec.token_env: token}

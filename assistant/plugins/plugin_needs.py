"""What a plugin's manifest asks of the person, each thing once: the variables to give and
the services to point it at. A variable or service may be declared plugin-wide and again by
several capabilities; the setup wizard asks, and the doctor checks, each name once (the
first declaration wins).
"""

from __future__ import annotations

from assistant.plugins.manifest import EnvVar, Manifest, Service


def declared_services(manifest: Manifest) -> list[Service]:
    found: dict[str, Service] = {}
    for cap in manifest.capabilities:
        for service in cap.services:
            found.setdefault(service.name, service)
    return list(found.values())


def asked_variables(manifest: Manifest) -> list[EnvVar]:
    """Declared variables the person answers: not the services' URLs (each service is set up
    as a whole) and not the OAuth token (the sign-in fills it)."""
    skip = {s.url_env for s in declared_services(manifest) if s.url_env}
    if manifest.oauth:
        skip.add(manifest.oauth.token_env)
    found: dict[str, EnvVar] = {}
    for var in [*manifest.env, *(v for c in manifest.capabilities for v in c.env)]:
        if var.name not in skip:
            found.setdefault(var.name, var)
    return list(found.values())


def needs_setup(manifest: Manifest) -> bool:
    """Whether the plugin asks for anything the wizard sets up: variables, services or a
    sign-in (an install in the assistant then goes on into the wizard)."""
    per_capability = any(c.env or c.services for c in manifest.capabilities)
    return bool(manifest.env or manifest.oauth or per_capability)

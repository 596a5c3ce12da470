"""Plugins: the manifest, the installer, per-plugin environments and the registry."""

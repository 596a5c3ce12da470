"""Confinement policy, grants and (later) the secrets vault."""

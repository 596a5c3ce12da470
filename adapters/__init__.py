"""How a capability is executed: one adapter per entry-point type, behind one contract.

This package never imports ``assistant``: it receives plain ``CapabilitySpec`` data and returns
``PluginResult``s, so third-party adapters can be written against ``adapters.base`` alone.
"""

"""The agent: natural-language requests become approved workflow plans over installed plugins.

Nothing here imports a user interface: front ends consume the typed events of
``assistant.agent.events`` and answer with its typed replies.
"""

"""The Slack surface: a Bolt app (HTTP at ``/slack/events`` or Socket Mode) that answers questions
in threads, posts approval messages with single-use buttons, the weekly digest and alerts.

Every handler parses, calls ``services`` (``TOOLS`` entries, the agent's ``ask``), renders Block
Kit. Modules import Bolt and the Slack SDK only when used: ``costpilot --help`` never loads them.
"""

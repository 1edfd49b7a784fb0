"""The dialing engine: operators, campaign runners, bridging, metrics, audit, crash recovery.

See docs/ENGINE.md.
"""

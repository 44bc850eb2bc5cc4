"""Insights: what every postmortem says together, filtered, charted, exported and sent weekly."""

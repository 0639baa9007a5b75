"""Retrospectives: services (writes) and selectors (reads) of the retro board."""

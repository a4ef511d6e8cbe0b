"""The patient-safety layer: checks that run on every message, before any answer."""

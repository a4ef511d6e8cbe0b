"""The patient-safety layer: checks that run on every message, before any answer; and the log
lines both servers write, which keep patients' words out (`safety.log_lines`)."""

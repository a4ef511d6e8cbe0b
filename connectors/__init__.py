"""Chat-app channels (Slack, Telegram): Rasa's own connectors with a configurable API address,
switched on by environment variables. See `connectors/credentials.py`."""

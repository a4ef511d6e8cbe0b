"""The Rasa server's side of the project: channels (the website widget's socket.io, Slack,
Telegram), the settings written from the environment (`credentials.py`, `endpoints.py`), and a
lock store safe with several servers. See `connectors/credentials.py`.

Importing the package also makes the Rasa server check action responses with a validator
built once (`action_responses.py`): Rasa imports it for the widget's channel at start-up.
"""

from connectors import action_responses

action_responses.install()

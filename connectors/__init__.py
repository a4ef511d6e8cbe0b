"""The Rasa server's side of the project: channels (the website widget's socket.io, Slack,
Telegram), the settings written from the environment (`credentials.py`, `endpoints.py`), and a
lock store safe with several servers. See `connectors/credentials.py`.

Importing the package imports nothing of Rasa: the settings writers run before every start and
need only YAML (with Rasa and TensorFlow imported, each took 4.4 s and 500 MB). The project's
pieces go into Rasa's modules when its server starts (`connectors.server.install`).
"""

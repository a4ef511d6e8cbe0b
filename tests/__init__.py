import os

# Rasa 3.6's own SQL tracker store uses SQLAlchemy APIs that 2.0 removes. The notice is about
# Rasa's code, not this project's; SQLAlchemy reads this when it is first imported.
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

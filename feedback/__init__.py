"""Feedback on answers, shared by both servers: the action server records each answer it gives
from the knowledge store, and what the patient said of it; the Rasa server records the website
widget's "Was this helpful?" presses, and applies the conversations' retention and deletion rules
to the same rows. See `feedback.store`.

Importing it imports SQLAlchemy only: neither Rasa nor rasa_sdk, so both servers' images hold it.
"""

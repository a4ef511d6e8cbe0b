"""NLU components of the Rasa server that Rasa does not ship (the red-flag check is in safety/)."""

"""The background simulation that plays the plant's outside world."""

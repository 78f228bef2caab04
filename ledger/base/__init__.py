"""The ground floor: the clock, settings read from the environment, the error types and logging.
Imports nothing of the project; everything else may import it."""

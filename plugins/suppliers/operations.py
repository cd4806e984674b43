"""Domain logic of the suppliers plugin: plain functions, no request object."""

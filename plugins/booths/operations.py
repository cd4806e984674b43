"""Domain logic of the booths plugin: plain functions, no request object."""

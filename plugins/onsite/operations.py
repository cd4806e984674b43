"""Domain logic of the onsite plugin: plain functions, no request object."""

"""Domain logic of the loyalty plugin: plain functions, no request object."""

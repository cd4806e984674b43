"""Domain logic of the visitors plugin: plain functions, no request object."""

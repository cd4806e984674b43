"""Domain logic of the exhibitors plugin: plain functions, no request object."""

"""The built-in plugins of crm-expo, one folder per job."""

"""The surveys plugin's permissions, declared in the one table (crm_expo.permissions)."""
from crm_expo.permissions import ORGANIZERS, declare

declare("surveys.view", ("admin", "organizer", "account_manager"))   # surveys, results, non-respondents
declare("surveys.manage", ORGANIZERS)                                 # build, open, send, remind, export

"""Core models: shows, the one customer record (Organization, Person), users and access,
audit, settings. Plugin tables live in each plugin's ``models.py``."""
from .audit import AuditEntry, audit
from .contacts import Consent, Organization, Person
from .mail import OutboxMail
from .settings import Setting, get_setting, set_setting
from .shows import Show, ShowDay, ShowSeries, ShowStatus
from .users import ApiToken, LoginFailure, Role, User

__all__ = [
    "ApiToken", "AuditEntry", "Consent", "LoginFailure", "Organization", "OutboxMail", "Person", "Role",
    "Setting", "Show", "ShowSeries", "get_setting", "set_setting", "ShowDay", "ShowStatus", "User", "audit",
]

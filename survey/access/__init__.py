"""Who may do what: the acting user, sign-in and sessions, the permission table, user accounts,
the audit log and the settings admins edit."""

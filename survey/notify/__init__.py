"""Notifications: who hears of each change of a problem (routing), the in-app messages (messages)
and the deadline reminders (reminders). Messages are written in the transaction of the change that
causes them, so a change that rolls back sends nothing and one that commits is never lost."""

"""The problem register: its rules and life (register), the actions on it (lifecycle), reading
it within scope (listing) and the work waiting for each role (inbox)."""

"""Companies: the registry (search, read, add, edit), its files (import, export), the credit code
checks and the company profile."""

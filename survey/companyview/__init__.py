"""The company's own view (企业端, issue 30): links that belong to one company, its short sessions,
what it sees of its problems, its rating of each answer and its new requests, and the comparison
of its ratings with the supervisors' phone callbacks."""

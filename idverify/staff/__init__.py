"""Staff sign-in (own API key plus own authenticator code gives a short-lived session credential) and the paged,
audited reads the staff console lists: cases, approvals and audit entries."""

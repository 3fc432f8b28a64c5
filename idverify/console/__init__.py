"""The staff console (`idverify console`): server-rendered pages for disputes, approvals, freezes, audit search and
staff links. It holds no privilege of its own: each staff member signs in with their own API key and their own
authenticator, and every page calls the gRPC API with that staff member's short-lived session credential, so the
service's role table, maker-checker rules and audit trail apply unchanged."""

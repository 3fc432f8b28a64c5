"""Generated gRPC code (imported only by transport and client)."""

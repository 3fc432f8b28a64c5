"""gRPC transport: servicers, interceptors, error mapping, health, reflection and the server. The only layer that
imports grpc."""

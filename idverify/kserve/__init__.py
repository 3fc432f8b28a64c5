"""Remote inference over the KServe V2 / Open Inference Protocol (gRPC): Triton, KServe or MLServer.

The adapter is named after its protocol and is the only inference code that imports grpc; the face adapters in
``idverify.ml`` reach it through the :class:`idverify.ml.runner.ModelRunner` protocol.
"""

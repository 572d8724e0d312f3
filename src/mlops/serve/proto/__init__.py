"""The Open Inference Protocol's gRPC messages: ``inference.proto`` and the generated
``inference_pb2`` (`make proto`)."""

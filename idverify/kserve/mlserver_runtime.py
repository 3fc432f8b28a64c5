"""An MLServer runtime that serves one ONNX model with onnxruntime over the V2 protocol.

This file runs inside the model server's own environment (MLServer + onnxruntime + numpy), not inside idverify:
``idverify models export-serving`` copies it beside each exported model as ``idverify_onnx_runtime.py`` and names
it in ``model-settings.json``. It imports nothing from idverify. MLServer has ready runtimes for scikit-learn,
XGBoost, MLflow and others but none for plain ONNX files, hence these few lines.
"""

from __future__ import annotations

import os

import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver.utils import get_model_uri


class OnnxRuntimeModel(MLModel):
    async def load(self) -> bool:
        uri = await get_model_uri(self._settings)
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(os.environ.get("IDVERIFY_SERVING_THREADS", "2"))
        options.inter_op_num_threads = 1
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
                     if p in ort.get_available_providers()]
        self._session = ort.InferenceSession(uri, sess_options=options, providers=providers)
        self._outputs = [o.name for o in self._session.get_outputs()]
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        feed = {inp.name: NumpyCodec.decode_input(inp).astype("float32") for inp in payload.inputs}
        names = [o.name for o in payload.outputs] if payload.outputs else self._outputs
        results = self._session.run(names, feed)
        return InferenceResponse(
            model_name=self.name,
            model_version=self.version,
            outputs=[NumpyCodec.encode_output(name, result) for name, result in zip(names, results, strict=True)],
        )

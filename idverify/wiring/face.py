"""The face stack: declared models (in-process onnxruntime or a KServe V2 model server), matcher, liveness
observer, passive PAD.

Part of the composition root (``idverify.app``): only it imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import structlog

from idverify.config import ConfigError, Settings
from idverify.domain.errors import FailedPrecondition, IdVerifyError
from idverify.factors.face_match import MatchThresholds
from idverify.factors.liveness import LivenessConfig, PadPolicy, PoseThresholds
from idverify.ml.liveness_frames import OnnxLivenessFrames
from idverify.ml.matcher import FaceMatcher
from idverify.ml.model_registry import ModelSpec
from idverify.ml.onnx_sessions import SessionConfig
from idverify.ml.pad.artefacts import CACHE_ENV, default_cache_dir
from idverify.ml.pad.onnx_pad import OnnxPad
from idverify.ml.pipeline import FacePipeline, pair_session_config
from idverify.ml.runner import ModelRunner, RunnerFactory, ort_runners
from idverify.ml.runner_metrics import timed_runners

log = structlog.get_logger("idverify.app")


@dataclass(frozen=True)
class FaceStack:
    matcher: FaceMatcher
    observer: OnnxLivenessFrames
    thresholds: MatchThresholds
    liveness: LivenessConfig
    pad_policy: PadPolicy | None
    detector_id: str
    pad_loaded: bool


def default_models_dir() -> Path:
    """``idverify/models`` inside an installed wheel (setup.py packs them), else the repository's ``models/``
    beside the package (editable installs). IDVERIFY_MODELS_DIR overrides both."""
    package = Path(__file__).resolve().parents[1]  # idverify/
    packaged = package / "models"
    if (packaged / "manifest.toml").exists():
        return packaged
    return package.parent / "models"


def remote_runners(settings: Settings) -> RunnerFactory | None:
    """The KServe V2 runners when IDVERIFY_INFERENCE_BACKEND=kserve; None keeps the models in-process."""
    if settings.inference_backend != "kserve":
        return None
    from idverify.kserve.models import kserve_runners  # grpc channel to the model server, only when asked for
    from idverify.kserve.runner import RemoteSettings

    factory, _channel = kserve_runners(RemoteSettings(
        target=settings.kserve_target, timeout_s=settings.kserve_timeout_s, retries=settings.kserve_retries,
        breaker_threshold=settings.kserve_breaker_threshold,
        breaker_cool_down_s=settings.kserve_breaker_cool_down_s))

    def checked(spec: ModelSpec, model: bytes) -> ModelRunner:
        try:
            return factory(spec, model)
        except FailedPrecondition as exc:
            raise ConfigError(f"IDVERIFY_KSERVE_TARGET {settings.kserve_target}: {exc}") from None

    return checked


def model_cache(settings: Settings) -> Path:
    """The PAD build folder under the model cache (``IDVERIFY_MODEL_CACHE`` through Settings, else the default)."""
    env = {CACHE_ENV: str(settings.model_cache_dir)} if settings.model_cache_dir is not None else {}
    return default_cache_dir(env)


def load_face(settings: Settings) -> FaceStack:
    """Load and verify the face models, and passive PAD when its built models are present."""
    models_dir = settings.models_dir or default_models_dir()
    if not (models_dir / "manifest.toml").exists():
        raise ConfigError(f"no face models at {models_dir} (set IDVERIFY_MODELS_DIR, or IDVERIFY_FACE=off)")
    config, remote = SessionConfig(intra_op_threads=settings.inference_threads), remote_runners(settings)
    # The two detections of a comparison run at once, each on half the threads (idverify/ml/pipeline.py); a model
    # server takes them as two requests.
    pair_config = pair_session_config(config)
    pair = None if remote is not None or pair_config is None else timed_runners(ort_runners(pair_config),
                                                                                settings.inference_backend)
    pipeline = FacePipeline.from_models_dir(models_dir, threads=settings.inference_threads,
                                            runners=timed_runners(remote or ort_runners(config),
                                                                  settings.inference_backend),
                                            pair_runners=pair, cache_dir=model_cache(settings).parent / "folded")
    try:
        thresholds = MatchThresholds.from_mapping(pipeline.embedder_id, settings.face_thresholds)
    except ValueError as exc:
        raise ConfigError(f"IDVERIFY_FACE_THRESHOLDS: {exc}") from None
    pad = load_pad(settings, models_dir)
    pad_policy = None
    if pad is not None or settings.pad_required:
        threshold = settings.pad_threshold if settings.pad_threshold is not None else (
            pad.live_threshold if pad is not None else 0.5)
        pad_policy = PadPolicy(threshold=threshold, required=settings.pad_required)
    liveness = LivenessConfig(same_person_threshold=thresholds.liveness_same_person,
                              poses=PoseThresholds(turn_yaw=settings.liveness_turn_yaw),
                              light_required=settings.liveness_light_check)
    observer = OnnxLivenessFrames(pipeline.detector, pipeline.embedder, max_frames=liveness.max_frames, pad=pad)
    return FaceStack(matcher=FaceMatcher(pipeline, thresholds), observer=observer, thresholds=thresholds,
                     liveness=liveness, pad_policy=pad_policy, detector_id=pipeline.detector.model_id,
                     pad_loaded=pad is not None)


def committed_pad_dir(models_dir: Path) -> Path | None:
    """The MiniFASNet exports committed beside the face models (``models/pad/``), when that folder has them."""
    folder = models_dir / "pad"
    return folder if (folder / "pad-build.json").is_file() else None


def load_pad(settings: Settings, models_dir: Path) -> OnnxPad | None:
    """Passive PAD from the built MiniFASNet models; None (and a warning) when they were not built."""
    if settings.pad == "off":
        log.warning("passive_pad_disabled", reason="IDVERIFY_PAD=off")
        return None
    build_dir = settings.pad_models_dir or committed_pad_dir(models_dir) or model_cache(settings)
    try:
        pad = OnnxPad(models_dir / "pad.toml", build_dir,
                      session_config=SessionConfig(intra_op_threads=settings.inference_threads))
    except (IdVerifyError, OSError) as exc:
        if settings.pad == "on":
            raise ConfigError(f"IDVERIFY_PAD=on but the PAD models cannot load: {exc}") from None
        log.warning("passive_pad_unavailable", reason=str(exc), hint="run `idverify build-pad`")
        return None
    log.info("passive_pad_loaded", models=list(pad.model_ids), threshold=pad.live_threshold)
    return pad


"""Services refuse to start on a model file that does not match the manifest.

`appliance agent` and `appliance run` call `require_configured` before loading any model
(and the LLM engine units run `appliance models verify --model NAME` as ExecStartPre).
"""

from __future__ import annotations

from pathlib import Path

from appliance.artifacts.model_files import Problem, load_manifest, verify_model
from appliance.config import Settings
from appliance.errors import ModelError

# The manifest shipped with the code (a site may point [paths] manifest elsewhere).
MANIFEST = Path(__file__).resolve().parent.parent.parent / "models" / "manifest.toml"


def configured_models(settings: Settings) -> list[str]:
    """Names of the models these settings load: STT, TTS and (if it runs here) the LLM."""
    names = [settings.stt.model, settings.tts.voice]
    if settings.llm.server.enabled:
        names.append(settings.llm.server.model)
    return names


def manifest_path(settings: Settings) -> Path:
    configured = settings.paths.manifest
    return settings.path(configured) if configured else MANIFEST


def require_models(manifest_file: Path, models_dir: Path, names: list[str]) -> None:
    """Refuse to start unless every file of the named models matches the manifest.

    Every byte is hashed (no stamps are trusted). Raises ModelError with the code of the
    first problem (model-missing | model-size-mismatch | model-checksum-mismatch |
    model-unknown | manifest-...); the message lists the files, never their contents.
    """
    manifest = load_manifest(manifest_file)
    problems: list[Problem] = []
    for name in names:
        problems += verify_model(manifest.get(name), models_dir)
    if problems:
        listed = ", ".join(str(p) for p in problems[:5])
        raise ModelError(
            problems[0].code,
            f"{len(problems)} model file(s) do not match {manifest_file}: {listed}; the models"
            " must be reinstalled from the bundle (`appliance models verify` lists them)",
        )


def require_configured(settings: Settings) -> None:
    """`require_models` for the models these settings load."""
    require_models(manifest_path(settings), settings.models_dir, configured_models(settings))

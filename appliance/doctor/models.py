"""The configured models, every byte checked against the manifest (model_files)."""

from __future__ import annotations

from appliance.artifacts.model_check import configured_models, manifest_path
from appliance.artifacts.model_files import load_manifest, verify_model
from appliance.config import Settings
from appliance.doctor.report import Finding, fail, ok
from appliance.errors import ModelError

GROUP = "models"


def checks(settings: Settings) -> list[Finding]:
    manifest_file = manifest_path(settings)
    try:
        manifest = load_manifest(manifest_file)
    except ModelError as exc:
        return [fail(GROUP, "manifest", f"{exc.code}: {exc.message}")]
    found = []
    for name in configured_models(settings):
        try:
            model = manifest.get(name)
        except ModelError:
            found.append(fail(GROUP, name, f"model-unknown: not in {manifest_file}"))
            continue
        problems = verify_model(model, settings.models_dir)
        if problems:
            listed = "; ".join(str(p) for p in problems[:3])
            more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
            found.append(fail(GROUP, name, listed + more))
        else:
            detail = f"{len(model.files)} file(s), {model.size / 1e6:.0f} MB, sha256 match"
            found.append(ok(GROUP, name, detail))
    return found

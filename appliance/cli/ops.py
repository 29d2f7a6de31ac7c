"""CLI handlers for operations: verify-isolation (and the offline bundle)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from appliance.config import Settings
from appliance.isolation import effective, report, settings, units

SYSTEM_UNITS = Path("/etc/systemd/system")


def _units_dir(chosen: Path | None, root: Path = Path("/")) -> Path:
    """The given folder, else systemd's folder that holds the installed units (checked
    with the drop-ins of every systemd folder), else the repository's systemd/."""
    if chosen is not None:
        return chosen
    for folder in effective.unit_folders(root):
        if (folder / "appliance-admin.service").exists():
            return folder
    return units.UNITS_DIR


def add_verify_isolation(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("verify-isolation", help="prove network isolation; exit 1 on any failure")
    p.add_argument(
        "--settings", type=Path, default=settings.DEFAULT_FILE, help="isolation TOML file"
    )
    p.add_argument("--units-dir", type=Path, help="where the appliance unit files are")
    p.add_argument("--json", type=Path, help="write the report as JSON here")
    p.add_argument(
        "--sign-key",
        type=Path,
        help="sign the JSON with the audit signing key (credential audit-signing.key, else this"
        " key file)",
    )


def cmd_verify_isolation(_: Settings, args: argparse.Namespace) -> int:
    iso = settings.load(args.settings)
    result = report.run_all(iso, _units_dir(args.units_dir), proc_net=Path("/proc/net"))
    print(result.to_text())
    if args.json:
        data = json.loads(result.to_json())
        if args.sign_key is not None:
            from appliance.isolation.signing import sign

            data = sign(data, args.sign_key)
        fd = os.open(args.json, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=2) + "\n")
    return 0 if result.passed else 1


def add_bundle(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bundle", help="build or verify the offline installation bundle")
    bsub = p.add_subparsers(dest="bundle_command", required=True)
    b = bsub.add_parser("build", help="one reproducible tarball (run on a staging machine)")
    b.add_argument("--out", type=Path, required=True, help="the .tar.gz to write")
    b.add_argument("--wheelhouse", type=Path, help="folder of the locked wheels")
    b.add_argument("--model-wheels", type=Path, help="folder of the model packages")
    b.add_argument("--debs", type=Path, help="folder of Debian packages to include")
    b.add_argument(
        "--download",
        type=Path,
        help="fetch both locks with pip (hash-checked) and build the appliance wheel here first",
    )
    v = bsub.add_parser("verify", help="check every file of a bundle against SHA256SUMS")
    v.add_argument("path", type=Path, help="a bundle .tar.gz or an unpacked bundle folder")


def cmd_bundle(_: Settings, args: argparse.Namespace) -> int:
    import tempfile

    from appliance.artifacts import bundle

    if args.bundle_command == "verify":
        if args.path.is_dir():
            problems = bundle.verify(args.path)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                problems = bundle.verify(bundle.unpack(args.path, Path(tmp)))
        for problem in problems:
            print(f"FAIL {problem}")
        print(f"bundle {'FAILED' if problems else 'OK'}: {args.path}")
        return 1 if problems else 0
    wheelhouse, model_wheels = args.wheelhouse, args.model_wheels
    if args.download is not None:
        wheelhouse, model_wheels = args.download / "wheels", args.download / "model-wheels"
        bundle.download(bundle.REPO / "requirements.lock", wheelhouse)
        bundle.portable_wheels(wheelhouse)
        bundle.own_wheel(wheelhouse)
        bundle.download(bundle.REPO / "models" / "wheels.lock", model_wheels)
    if wheelhouse is None or model_wheels is None:
        print("bundle build: give --wheelhouse and --model-wheels, or --download DIR")
        return 2
    out = bundle.build(args.out, wheelhouse=wheelhouse, model_wheels=model_wheels, debs=args.debs)
    print(f"{out}  sha256 {bundle.sha256(out)}")
    return 0


def add_doctor(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("doctor", help="preflight checks for IT; exit 1 on any failure")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--out", type=Path, help="also write the JSON report here")
    p.add_argument("--profile", choices=("cpu", "gpu"), help="default: from [stt] device")
    p.add_argument("--units-dir", type=Path, help="installed unit files (default: systemd's)")


def cmd_doctor(config: Settings, args: argparse.Namespace) -> int:
    from appliance.doctor.run import run_all

    chosen = args.units_dir
    if chosen is None and (SYSTEM_UNITS / "appliance-admin.service").exists():
        chosen = SYSTEM_UNITS
    result = run_all(config, profile=args.profile, units_dir=chosen)
    print(result.to_json() if args.json else result.to_text())
    if args.out is not None:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(result.to_json() + "\n")
    return 0 if result.passed else 1


def add_admin(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser("admin", help="the admin app alone on [admin] host:port (systemd unit)")


def cmd_admin(config: Settings, args: argparse.Namespace) -> int:
    import asyncio

    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")  # set by the unit: the agents' metrics
    if shared:  # before any metric is created (some are made at import)
        Path(shared).mkdir(parents=True, exist_ok=True, mode=0o700)
    from appliance.admin.standalone import run_standalone

    return asyncio.run(run_standalone(config, getattr(args, "config", None)))


def add_sip_edge(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser("sip-edge", help="the Kamailio SIP edge alone (the appliance-sip-edge unit)")


def cmd_sip_edge(config: Settings, _: argparse.Namespace) -> int:
    import asyncio

    from appliance.services.edge import run_edge

    return asyncio.run(run_edge(config))

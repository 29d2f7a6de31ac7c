"""Frozen settings from one TOML file layered over the embedded defaults.

Secrets are never read from here: only paths to key files (or, in production,
systemd credentials under $CREDENTIALS_DIRECTORY).
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from appliance.addresses import host_port
from appliance.config_quality import Quality, QualityCost, validate_quality
from appliance.config_sip import Sip, SipRegistration, SipTls, validate_sip
from appliance.config_types import Count, Port, Positive, Seconds, Share
from appliance.errors import ConfigError

__all__ = [
    "Count", "Port", "Positive", "Quality", "QualityCost", "Seconds", "Sip", "SipRegistration",
    "SipTls",
]  # fmt: skip

TransferMode = Literal["blind", "attended"]
LlmIntentsWhen = Literal["never", "tie", "unmatched"]
StructuredOutput = Literal["json_object", "json_schema"]  # llama.cpp | vllm / OpenAI
PciMode = Literal["transfer", "collect"]
RecordingMode = Literal["off", "announce", "opt-in"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Clinic(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    timezone: str
    front_desk_hours: str
    facts: str  # short clinic facts the assistant may state (no PHI)


class Paths(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    var_dir: str
    models_dir: str
    manifest: str = ""  # models manifest checked at start ("" = models/manifest.toml of the code)


class Admin(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    host: str
    port: Port
    tls_cert_file: str = ""  # PEM certificate: HTTPS when set (`appliance admin`)
    tls_key_file: str = ""  # its key when no systemd credential "tls.key" is passed
    # screen-pop token (systemd credential "screenpop.key", else this file; "" = var/keys/)
    screenpop_key_file: str = ""
    # the shared-token /screenpop is for machine clients on this host; true also serves it
    # to other addresses (people use /console/screenpop, each under their own account)
    screenpop_remote: bool = False


class LlmServer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    enabled: bool
    model: str
    host: str
    port: int
    threads: int
    context: int


class Llm(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    base_url: str
    model: str
    api_key_file: str
    timeout_s: float
    max_tokens: int
    temperature: float
    server: LlmServer


class Stt(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    model: str
    device: str
    compute_type: str
    beam_size: int
    threads: int
    vocabulary: list[str] = []  # clinic and provider names etc.: hotwords that bias Whisper
    window_s: Annotated[float, msgspec.Meta(ge=10.0, le=30.0)] = 15.0  # s the encoder reads;
    # < 30: faster on CPU (the turn can end at its first pause), ~2 points more WER
    # count the caller's words Whisper was unsure of (faster-whisper word timestamps; the
    # count only, never the words): off, it doubles a turn's STT time on 2 CPU cores and
    # adds trailing words to some transcripts (bench/stt_words.py, bench/README.md)
    word_confidence: bool = False
    low_word_probability: Annotated[float, msgspec.Meta(gt=0.0, lt=1.0)] = 0.5  # below: unsure


class Tts(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    voice: str


class Vad(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    threshold: Annotated[float, msgspec.Meta(gt=0.0, lt=1.0)] = 0.5  # speech probability
    min_speech_ms: Positive = 200  # ms of voiced windows before speech starts
    min_silence_ms: Positive = 700  # ms of silence that end a turn
    max_utterance_s: Annotated[float, msgspec.Meta(gt=0)] = 20.0  # a longer turn is cut
    early_stt_ms: int = 300  # ms of silence after which STT starts speculatively (0: off)
    early_end_of_turn: bool = True  # end the turn at that pause if its transcript is complete

    @property
    def early_end(self) -> bool:
        """A turn may end at its first pause (semantic end of turn; needs early STT)."""
        return self.early_end_of_turn and self.early_stt_ms > 0


class Store(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    db_file: str
    key_file: str  # used when no systemd credential "db.key" is passed
    audit_key_file: str = "var/keys/audit-signing.key"  # else credential "audit-signing.key"
    audit_checkpoint_every: Positive = 100  # audit records between signed checkpoints
    audit_anchor_file: str = ""  # append-only file of exported anchors ("": var/audit/)
    audit_anchor_syslog: str = ""  # "host:port": anchors also to this syslog (UDP, RFC 5424)
    audit_anchor_every_h: Seconds = 1.0  # the running appliance anchors this often (0: CLI only)
    transcript_retention_days: Positive = 90  # turn text older than this is purged


class Log(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    level: LogLevel


class Conversation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Turn-taking timing (see appliance/conversation/turn_taking.py)."""

    barge_in: bool = True  # caller speech cuts interruptible agent audio
    barge_in_min_speech_s: Seconds = 0.0  # s of voiced speech beyond [vad] min_speech_ms
    barge_in_pause_s: Seconds = 0.02  # s of voiced frames that pause the audio at once (0: off)
    barge_in_resume_s: Seconds = 0.2  # s without voice after an unconfirmed burst: resume
    backchannel_max_words: Count = 2  # a barge-in of only backchannel words gets no reply
    filler_after_s: Seconds = 1.2  # s after the caller's speech with no reply audio: filler
    filler_every_s: Seconds = 1.5  # s of silence after a filler before it repeats (0: once)
    reprompt_after_s: Annotated[float, msgspec.Meta(gt=0)] = 8.0  # s of caller silence
    # before a re-prompt
    max_reprompts: Count = 2  # then the call is closed politely


class Workflows(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Deterministic clinic workflows (appliance/workflows) instead of free LLM replies."""

    enabled: bool = True  # off: free-LLM demo mode, non-clinical, refused on a store with patients
    kb_file: str = ""  # TOML knowledge base ("" = hours and facts from [clinic])
    front_desk_uri: str = ""  # SIP URI transfers go to ("" = tell the caller to call back)
    emergency_number: str = "911"
    structured_output: StructuredOutput = "json_object"  # llama.cpp; "json_schema" for vllm
    understand_timeout_s: float = 1.5  # s for the LLM's intent, then the rules' reading stands
    llm_intents: LlmIntentsWhen = "never"  # when the LLM is asked: "never" | "tie" | "unmatched"
    transfer_mode: TransferMode = "blind"  # REFER | consultation call first
    whisper: bool = True  # attended only: one PHI-free sentence to the desk before bridging


class Pci(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """PCI pause (appliance/governance/pci.py): card data never reaches STT/LLM/store/logs."""

    enabled: bool = True  # on: payment phrases start payment mode
    mode: PciMode = "collect"  # "transfer" to ivr_uri | "collect" (count digits, go on)
    ivr_uri: str = ""  # SIP URI of the PCI-compliant payment IVR (needed for "transfer")
    expected_digits: Annotated[int, msgspec.Meta(ge=1, le=32)] = 16  # collect: payment mode
    # ends after this many digits ...
    end_key: Annotated[str, msgspec.Meta(min_length=1, max_length=1)] = "#"  # ... or this key
    timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 120.0  # ... or after this many s
    triggers: list[str] = []  # caller phrases that start payment mode ([]: the built-in ones)


class Consent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """AI disclosure, AI-handling consent and call recording (appliance/governance/consent.py)."""

    recording: RecordingMode = "off"  # announce: told in the greeting; opt-in: caller says yes
    decline_to_human: bool = True  # "I don't want to talk to a robot" -> front desk, audited
    decline_phrases: list[str] = []  # extra phrases that decline AI handling


class Retention(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Days each data class is kept (appliance/governance/retention.py; turn text:
    [store] transcript_retention_days). Purged by `appliance db purge` and, in the running
    appliance, every `purge_every_h` hours."""

    handoff_days: Positive = 30  # handoff packets (screen-pop JSON, PHI)
    message_days: Positive = 90  # messages and callback requests callers left (PHI)
    call_days: int = 365  # call metadata, turn rows and call events (>= transcript days)
    audit_days: int = 2192  # audit records: at least 6 years; a shorter value is refused
    audio_days: int = 14  # the quality sample's caller audio ([quality] audio_sample)
    audio: Literal["none"] = "none"  # obsolete (configs that still say "none" load)
    purge_every_h: Seconds = 24.0  # the running appliance purges this often (0: CLI only)


AUDIT_MIN_DAYS = 2192  # 6 years of 365.25 days, rounded up


class Demo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The synthetic demo clinic and front desk of `make run` (appliance/demo); off on a
    real install (the Ansible role renders both false)."""

    clinic: bool = True  # seed an empty schedule with the demo clinic; its KB if no kb_file
    front_desk: bool = True  # `appliance run` starts a demo desk on 127.0.0.1: the transfer
    # target when [workflows] front_desk_uri is ""
    front_desk_port: Port = 5090  # the demo desk's SIP port (UDP, loopback)


HhMm = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$")]
LAW_WINDOW = ("08:00", "21:00")  # TCPA: calls between 8 AM and 9 PM, callee's local time


class Outbound(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Outbound appointment reminders under TCPA (appliance/outbound, docs/outbound.md)."""

    enabled: bool = False  # off: nothing is dialled (`appliance reminders plan` still plans)
    window_start: HhMm = "09:00"  # the clinic's own window, clinic time ([clinic] timezone),
    window_end: HhMm = "20:00"  # within 08:00-21:00; the law's window holds in the callee's
    attempts_per_day: Positive = 2  # calls to one number per clinic day
    attempts_per_appointment: Positive = 3  # calls about one appointment in all
    route: str = ""  # host:port of the PBX / outbound proxy calls go through ("": none yet)
    callback: str = ""  # the clinic's call-back number, said in messages ("": none yet)
    max_concurrent: Positive = 2  # reminder calls up at once
    inbound_reserve: Count = 2  # call slots always left free for inbound calls
    ring_s: Annotated[float, msgspec.Meta(ge=5, le=120)] = 30.0  # s of ringing: no-answer
    busy_retry_s: Seconds = 900.0  # s before a busy number is tried again
    no_answer_retry_s: Seconds = 3600.0  # ... a number that did not answer
    failed_retry_s: Seconds = 1800.0  # ... a call that failed


CALLBACK = re.compile(r"^\+?[0-9][0-9 ().-]{6,24}$")  # a number a person can dial back


class Governance(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Phase gates of the rollout (appliance/governance/gates.py, docs/governance.md):
    computed from the store over a rolling window; shares are 0..1."""

    window_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 7  # the rolling window
    min_calls: Positive = 30  # attributed calls in the window below which a gate fails
    low_containment_min: Share = 0.70  # low -> next: containment >= this
    low_compliance_flag_max: Share = 0.02  # ... compliance flag rate < this
    low_warm_transfer_min: Share = 0.95  # ... transfers that reached a human > this
    medium_containment_min: Share = 0.60  # medium -> next: containment >= this
    medium_complaint_max: Share = 0.05  # ... escalation-to-complaint conversion < this
    complaint_callback_h: Annotated[float, msgspec.Meta(gt=0)] = 24.0  # a call back
    # within this many hours after an escalated call counts as a complaint
    containment_drop_max: Share = 0.05  # demotion: containment of the last 24 h this far
    # (percentage points) below the rest of the window pauses a live use case ...
    drop_min_calls: Positive = 10  # ... when the last 24 h have at least this many calls
    enforce_every_min: Annotated[float, msgspec.Meta(ge=0, le=1440)] = 15.0  # the running
    # appliance runs `appliance governance enforce` this often (0: the CLI only)
    simulation_pass_min: Share = 0.90  # draft -> simulated: this share of the use case's
    # simulated dialogues reached their expected outcome (`appliance simulate`)


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    clinic: Clinic
    paths: Paths
    sip: Sip
    admin: Admin
    llm: Llm
    stt: Stt
    tts: Tts
    store: Store
    log: Log
    vad: Vad = msgspec.field(default_factory=Vad)
    conversation: Conversation = msgspec.field(default_factory=Conversation)
    workflows: Workflows = msgspec.field(default_factory=Workflows)
    pci: Pci = msgspec.field(default_factory=Pci)
    consent: Consent = msgspec.field(default_factory=Consent)
    retention: Retention = msgspec.field(default_factory=Retention)
    demo: Demo = msgspec.field(default_factory=Demo)
    outbound: Outbound = msgspec.field(default_factory=Outbound)
    governance: Governance = msgspec.field(default_factory=Governance)
    quality: Quality = msgspec.field(default_factory=Quality)

    def path(self, value: str) -> Path:
        """Resolve a configured path (relative paths against the working directory)."""
        return Path(value).expanduser().resolve()

    @property
    def llm_used(self) -> bool:
        """Whether calls ask the LLM at all: free-LLM mode, or the clinic agent with
        `[workflows] llm_intents` other than "never" (then the server is started)."""
        return not self.workflows.enabled or self.workflows.llm_intents != "never"

    @property
    def var_dir(self) -> Path:
        return self.path(self.paths.var_dir)

    @property
    def models_dir(self) -> Path:
        return self.path(self.paths.models_dir)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def default_toml() -> str:
    return resources.files("appliance").joinpath("defaults.toml").read_text("utf-8")


def load_settings(config_file: Path | None = None) -> Settings:
    """Defaults, overlaid by `config_file` (or $APPLIANCE_CONFIG) if given."""
    data = tomllib.loads(default_toml())
    env_file = os.environ.get("APPLIANCE_CONFIG")
    chosen = config_file or (Path(env_file) if env_file else None)
    if chosen is not None:
        try:
            override = tomllib.loads(chosen.read_text("utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError("config-missing", f"config file not found: {chosen}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("config-syntax", f"{chosen}: {exc}") from exc
        data = _merge(data, override)
    try:
        settings = msgspec.convert(data, type=Settings)
    except msgspec.ValidationError as exc:
        raise ConfigError("config-invalid", str(exc)) from exc
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    """What the types cannot say: rules between fields, addresses."""
    validate_sip(s.sip)
    if s.pci.enabled and s.pci.mode == "transfer" and not s.pci.ivr_uri:
        raise ConfigError("config-invalid", "pci.ivr_uri is needed for pci.mode = 'transfer'")
    _validate_retention(s)
    validate_quality(s.quality, s.retention.audio_days, s.store.transcript_retention_days)
    _validate_anchor(s.store)
    _validate_outbound(s.outbound)


def _validate_outbound(o: Outbound) -> None:
    """The clinic's window lies within the law's (HH:MM strings compare in time order);
    the route is host:port; the call-back number is one a person can dial."""
    if o.route and not host_port(o.route):
        raise ConfigError("config-outbound-route", f"outbound.route is not host:port: {o.route!r}")
    if o.callback and not CALLBACK.match(o.callback):
        raise ConfigError("config-outbound-callback", "outbound.callback is not a phone number")
    if not LAW_WINDOW[0] <= o.window_start < o.window_end <= LAW_WINDOW[1]:
        raise ConfigError(
            "config-outbound-window",
            f"outbound window {o.window_start}-{o.window_end} must lie within"
            f" {LAW_WINDOW[0]}-{LAW_WINDOW[1]} and start before it ends",
        )


def _validate_anchor(store: Store) -> None:
    """Shape only: the exporter checks the file when it starts (audit_anchor.py)."""
    path, own = store.audit_anchor_file, (store.db_file, store.key_file, store.audit_key_file)
    if path and (
        path.endswith("/")
        or "\0" in path
        or Path(path).expanduser().resolve() in {Path(p).expanduser().resolve() for p in own}
    ):
        raise ConfigError(
            "config-audit-anchor-file",
            f"store.audit_anchor_file must name a file of its own: {path!r}",
        )
    if store.audit_anchor_syslog and not host_port(store.audit_anchor_syslog):
        raise ConfigError(
            "config-audit-anchor-syslog",
            f"store.audit_anchor_syslog is not host:port: {store.audit_anchor_syslog!r}",
        )


def _validate_retention(s: Settings) -> None:
    r = s.retention
    if r.audit_days < AUDIT_MIN_DAYS:
        raise ConfigError(
            "config-audit-retention-short",
            f"retention.audit_days must be at least {AUDIT_MIN_DAYS} (6 years): {r.audit_days}",
        )
    if r.call_days < s.store.transcript_retention_days:
        raise ConfigError(
            "config-invalid",
            "retention.call_days must be >= store.transcript_retention_days",
        )


def read_or_create_secret(path: Path, nbytes: int = 32) -> str:
    """Read a hex secret from a 0600 key file, creating it on first use (dev only).

    Refuses a key file that other users can read.
    """
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(
                "key-file-permissions", f"{path} must not be readable by others (mode {mode:o})"
            )
        value = path.read_text("ascii").strip()
        if not value:
            raise ConfigError("key-file-empty", f"{path} is empty")
        return value
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_hex(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
    return value

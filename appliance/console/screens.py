"""Every console controller, in the order the admin app mounts them."""

from __future__ import annotations

from litestar import Controller

from appliance.console.audit_routes import AuditController
from appliance.console.calls_routes import CallsController
from appliance.console.consent_routes import ConsentController
from appliance.console.health_routes import HealthController
from appliance.console.kb_routes import KbController
from appliance.console.reminders_routes import RemindersController
from appliance.console.rollout_routes import RolloutController
from appliance.console.routes import ConsoleController, PublicController
from appliance.console.schedule_routes import ScheduleController
from appliance.console.screenpop import ScreenPopController
from appliance.console.users_routes import UsersController

CONTROLLERS: tuple[type[Controller], ...] = (
    PublicController,
    ConsoleController,
    CallsController,
    KbController,
    AuditController,
    ScreenPopController,
    UsersController,
    HealthController,
    ScheduleController,
    RolloutController,
    RemindersController,
    ConsentController,
)

"""Care-plan fixtures: the pre-visit summary needs portal's clock and clinicians' schedules."""

from ..portal.conftest import appointment, frozen, schedules  # noqa: F401  (fixtures)

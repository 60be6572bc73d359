from celery import shared_task

from safety_reset.programs.models import Program

from .services import snapshot_take


@shared_task(ignore_result=True)
def take_snapshots() -> None:
    """Today's snapshot of every running program (today in each program's own time zone); a
    closed program is read-only, its last snapshot is its record."""
    for program in Program.objects.filter(closed_at__isnull=True):
        today = program.today()
        if program.start_date <= today <= program.end_date:
            snapshot_take(program=program, date=today)

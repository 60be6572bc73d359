from celery import shared_task

from safety_reset.programs.models import Program

from .services import snapshot_take


@shared_task(ignore_result=True)
def take_snapshots() -> None:
    """Today's snapshot of every running program (today in each program's own time zone)."""
    for program in Program.objects.all():
        today = program.today()
        if program.start_date <= today <= program.end_date:
            snapshot_take(program=program, date=today)

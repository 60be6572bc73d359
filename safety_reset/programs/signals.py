"""What the programs app tells the apps above it, without importing them.

`program_kicked_off` is sent by `program_kick_off` inside its transaction, once the program is
marked kicked off. The notifications app listens and queues the kick-off mails on commit, so the
mail path (log, lock-send-record, idempotency) stays in notifications and programs stays below it
in the layering.
"""

import django.dispatch

# Arguments: program (the Program).
program_kicked_off = django.dispatch.Signal()

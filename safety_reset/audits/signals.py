"""What the audits app tells the apps above it, without importing them.

Each signal is sent by its service inside the service's transaction, once the change is made;
the notifications app listens and queues the notice on commit (a rolled-back change tells
nobody). Arguments are the changed rows.
"""

import django.dispatch

# Arguments: waiver (the Waiver just requested).
waiver_requested = django.dispatch.Signal()
# Arguments: waiver (the Waiver just approved or rejected, with its decision_note).
waiver_decided = django.dispatch.Signal()
# Arguments: request (the Evidence row of kind "request" just made).
evidence_requested = django.dispatch.Signal()
# Arguments: signoff (the SignOff just revoked, with its revoked_reason).
signoff_revoked = django.dispatch.Signal()

"""What the remediation app tells the apps above it, without importing them.

Sent by the task services inside their transaction; the notifications app queues the notice on
commit.
"""

import django.dispatch

# Arguments: task (the RemediationTask), assignee (the Person it is now assigned to).
task_assigned = django.dispatch.Signal()

"""What the inventory tells the apps above it, without importing them.

`systems_saved` is sent by `system_create` and `system_update` inside their transaction, after
the system and its relations are written. The programs app listens and enrols the system in
every open program whose scope it now falls in, so a rule about programs lives in the programs
app while inventory stays at the bottom of the layering.
"""

import django.dispatch

# Arguments: systems (the saved Systems, a list).
systems_saved = django.dispatch.Signal()

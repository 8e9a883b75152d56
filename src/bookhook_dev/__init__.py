"""The developer's side of the webhook receiver: never part of the deployed function.

Three packages, each importing only those listed before it (the graph stays acyclic):
`testing` (stand-ins for the outside world), `tools` (the `bookhook` command and what it runs) and
`build` (packaging and benchmarks). No package's `__init__` imports its modules.
"""

"""The compose backend: compose creates (and starts what it must: hooks, inline files),
bootstrap starts the rest and probes through the Docker SDK. ``backend``: the class the
backends table names; ``driver``: creation and the phased start; ``status``; ``teardown``:
compose's stop order; ``supervision``: the supervisor's hands; ``states``: what a container's
state means; ``labels``: compose's vocabulary."""

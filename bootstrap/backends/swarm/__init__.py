"""The Swarm backend: the same ordered bring-up as a stack on Docker Swarm. ``backend``: the
class the backends table names; ``driver``: the stack file deployed held, then released in
order; ``status``; ``teardown``; ``supervision``: the manager's tasks told as events;
``states``: what a task's state means; ``labels``, ``engine`` (Swarm's API), ``stackfile``."""

"""Which probe gates each service, and the one table of ``bootstrap.*`` labels. Pure.

Every label is parsed here, once, during planning: an unknown key or value, a parameter that
does not belong to the probe's kind, or a value of the wrong type is a ``ConfigError`` naming
the label, before anything starts. ``probes.make_probe`` builds from the same parsed values.
"""

from __future__ import annotations

from collections.abc import Mapping

from bootstrap.classify import (
    PHASE_LABEL,
    ROLE_LABEL,
    an_app_product,
    generic_image,
    image_name,
    image_path_name,
    image_repository,
    name_words,
    recognise,
)
from bootstrap.errors import ConfigError, raise_all
from bootstrap.mcp_client import DEFAULT_PATH
from bootstrap.model import Service
from bootstrap.probes.registry import (
    COMPLETED,
    HEALTHCHECK,
    RUNNING,
    TCP,
    ProbeKind,
    by_repository,
    kinds,
    recognised,
)
from bootstrap.probes.spec import DEFAULT_QUERY, ParamValue, ProbeSpec

PROBE_LABEL = "bootstrap.probe"
OPTIONAL_LABEL = "bootstrap.optional"
ALLOW_LABEL = "bootstrap.allow"  # risks a service accepts on purpose, comma-separated
ALLOWANCES = ("docker-socket", "privileged", "sys-admin")
# The supervisor's (bootstrap supervise): restart this service when a dependency comes back;
# restart it after N failed probes in a row (0: never)
RESTART_LABEL = "bootstrap.restart-with-dependencies"
HEAL_LABEL = "bootstrap.heal"
ROLES = ("discovery", "supervisor")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
__all__ = ["DEFAULT_QUERY", "ParamValue", "ProbeSpec"]


def _bad(service: Service, key: str, message: str, hint: str) -> ConfigError:
    return ConfigError(message, location=f"services.{service.name}.labels.{key}", hint=hint)


def _suggest(word: str, known: list[str]) -> str:
    from difflib import get_close_matches

    close = get_close_matches(word, known, n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def check_labels(service: Service, phases: tuple[str, ...]) -> None:
    """Every ``bootstrap.*`` label but the probe's: known key, known value. Every mistake is
    reported (``ConfigErrors``), not only the first."""
    problems: list[ConfigError] = []
    probe_prefix = PROBE_LABEL + "."
    known = [
        PHASE_LABEL,
        ROLE_LABEL,
        OPTIONAL_LABEL,
        PROBE_LABEL,
        ALLOW_LABEL,
        RESTART_LABEL,
        HEAL_LABEL,
    ]
    for key in sorted(service.labels):
        if not key.startswith("bootstrap.") or key.startswith(probe_prefix) or key in known:
            continue
        problems.append(
            _bad(
                service,
                key,
                f"unknown label {key!r}",
                _suggest(key, known)
                + f"bootstrap reads: {', '.join(known)}, {probe_prefix}<param>",
            )
        )
    phase = service.label(PHASE_LABEL)
    if phase and phase not in phases:
        problems.append(
            _bad(
                service,
                PHASE_LABEL,
                f"unknown phase {phase!r}",
                _suggest(phase, list(phases)) + f"phases are: {', '.join(phases)}",
            )
        )
    role = service.label(ROLE_LABEL)
    if ROLE_LABEL in service.labels and role not in ROLES:
        problems.append(
            _bad(
                service,
                ROLE_LABEL,
                f"unknown role {role!r}",
                _suggest(role, list(ROLES)) + f"roles are: {', '.join(ROLES)}",
            )
        )
    for flag in (OPTIONAL_LABEL, RESTART_LABEL):
        if flag in service.labels and service.label(flag).lower() not in _TRUE + _FALSE:
            problems.append(
                _bad(
                    service,
                    flag,
                    f"{service.label(flag)!r} is not true or false",
                    'write "true" or "false"',
                )
            )
    heal = service.label(HEAL_LABEL)
    if HEAL_LABEL in service.labels and not heal.isdigit():
        problems.append(
            _bad(
                service,
                HEAL_LABEL,
                f"{heal!r} is not a count of failed probes",
                'write how many failed probes in a row restart it, e.g. "3" ("0": never)',
            )
        )
    for allowance in allowances(service):
        if allowance not in ALLOWANCES:
            problems.append(
                _bad(
                    service,
                    ALLOW_LABEL,
                    f"unknown allowance {allowance!r}",
                    _suggest(allowance, list(ALLOWANCES)) + f"allowances: {', '.join(ALLOWANCES)}",
                )
            )
    raise_all(problems)


def allowances(service: Service) -> tuple[str, ...]:
    return tuple(a.strip() for a in service.label(ALLOW_LABEL).split(",") if a.strip())


def is_optional_label(service: Service) -> bool:
    return service.label(OPTIONAL_LABEL).lower() in _TRUE


def _label_params(service: Service, kind: str, why: str) -> dict[str, ParamValue]:
    """The ``bootstrap.probe.<param>`` labels, parsed against the kind's table."""
    table = kinds()[kind].label_params
    prefix = PROBE_LABEL + "."
    params: dict[str, ParamValue] = {}
    problems: list[ConfigError] = []
    for key, raw in sorted(service.labels.items()):
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        if name not in table:
            elsewhere = sorted(k for k, p in kinds().items() if name in p.params)
            problems.append(
                _bad(
                    service,
                    key,
                    f"{name!r} is not a parameter of the {kind} probe ({why})",
                    _suggest(name, sorted(table))
                    + f"a {kind} probe takes: {', '.join(sorted(table))}"
                    + (f"; {name} belongs to: {', '.join(elsewhere)}" if elsewhere else ""),
                )
            )
            continue
        try:
            params[name] = table[name].parse(raw)
        except ValueError as exc:
            problems.append(_bad(service, key, f"{raw!r} is not {exc}", f"write {key} as {exc}"))
    raise_all(problems)
    return params


def sql_params(engine: str, env: Mapping[str, str]) -> dict[str, ParamValue]:
    """Credentials as the official images read them (the kind's own ``derive``)."""
    return dict(kinds()[engine].derive(env, ()))


def legacy_image(kind: ProbeKind, image: str) -> bool:
    """Whether ``image`` is one of the kind's older layouts (its repository path, or its
    tag as ``:tag``)."""
    tag = image.split("@", 1)[0].rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    return image_path_name(image) in kind.legacy or (bool(tag) and f":{tag}" in kind.legacy)


def recognised_kind(service: Service) -> tuple[ProbeKind, str] | None:
    """The probe kind the image's name calls for (``redis:7`` -> redis), else the service's
    name where the image says nothing (built here, or an image we do not know): (the kind,
    what said so). A generic image (nginx, python...) is never a server by its service name."""
    if service.image:
        aliased = by_repository(image_repository(service.image))
        if aliased is not None:
            return aliased, f"image {service.image}"
    names = (
        [
            (image_name(service.image), f"image {service.image}"),
            (image_path_name(service.image), f"image {service.image}"),
        ]
        if service.image
        else []
    )
    if not generic_image(service):
        names.append((service.name, f"the name {service.name!r}"))
    for index, (name, said) in enumerate(names):
        found = None if an_app_product(name) else recognised(name_words(name))
        if found is not None and service.image and legacy_image(found, service.image):
            return None  # an older layout its probe does not fit: a plain server
        if found is not None:
            return found, said
        last_image_name = service.image and index == 1
        if recognise(name) or (last_image_name and recognise(names[0][0])):
            return None  # the image is something else we know: trust it
    return None


def choose_probe(  # noqa: PLR0911 - first match wins, one return per rule
    service: Service, *, completed_by_dependents: bool = False
) -> ProbeSpec:
    """A label wins; else "completed" for a one-shot job (a dependent waits for it with
    ``service_completed_successfully``); else the kind the image (or the name) calls for,
    with the credentials its documented variables give; else an MCP discovery label; else the
    container's own healthcheck; else a TCP connect to the port it publishes or exposes; else
    "running". Raises ``ConfigError`` for a label bootstrap cannot
    use."""
    label = service.label(PROBE_LABEL)
    if PROBE_LABEL in service.labels:
        if label not in kinds():
            raise _bad(
                service,
                PROBE_LABEL,
                f"unknown probe kind {label!r}",
                _suggest(label, list(kinds())) + f"kinds are: {', '.join(kinds())}",
            )
        kind = kinds()[label]
        why = f"label {PROBE_LABEL}={label}"
        base = dict(kind.derive(service.environment, service.command))
        asked = {**base, **_label_params(service, label, why)}
        return ProbeSpec(kind.name, asked, why, ordered=True)
    if completed_by_dependents:  # compose's service_completed_successfully: a one-shot job,
        # whatever its image (a setup job run from the database's or the search engine's image)
        why = "a dependent waits for it to complete"
        return ProbeSpec(COMPLETED, _label_params(service, COMPLETED, why), why)
    found = recognised_kind(service)
    if found is not None:
        kind, said = found
        why = f"{said} is a {kind.name} server"
        base = dict(kind.derive(service.environment, service.command))
        given = {**base, **_label_params(service, kind.name, why)}
        return ProbeSpec(kind.name, given, why, recognised=True)
    if service.label("discovery.protocol") == "mcp":
        why = "label discovery.protocol=mcp"
        mcp: dict[str, ParamValue] = {"path": service.label("discovery.path") or DEFAULT_PATH}
        if service.label("discovery.port").isdigit():
            mcp["port"] = int(service.label("discovery.port"))
        return ProbeSpec("mcp", {**mcp, **_label_params(service, "mcp", why)}, why)
    if service.healthcheck and not service.healthcheck.disabled and service.healthcheck.test:
        why = "the service defines a healthcheck"
        return ProbeSpec(HEALTHCHECK, _label_params(service, HEALTHCHECK, why), why)
    listening = [p.target for p in service.ports] + list(service.expose)
    if listening:
        why = f"no known image or healthcheck; it listens on {listening[0]}: ready when that "
        why += "port accepts a connection"
        params: dict[str, ParamValue] = {"port": listening[0]}
        labelled = _label_params(service, TCP, why)
        return ProbeSpec(TCP, {**params, **labelled}, why, guessed=True)
    why = "no healthcheck, probe label or port: ready once running"
    return ProbeSpec(RUNNING, _label_params(service, RUNNING, why), why)


def wants_restart_with_dependencies(service: Service) -> bool:
    return service.label(RESTART_LABEL).lower() in _TRUE


def heal_after(service: Service) -> int:
    """Failed probes in a row after which the supervisor restarts it (0: never)."""
    value = service.label(HEAL_LABEL)
    return int(value) if value.isdigit() else 0

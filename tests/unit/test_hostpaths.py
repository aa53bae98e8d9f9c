from __future__ import annotations

from bootstrap.hostpaths import binds_under, host_path_override, translation_wanted
from bootstrap.model import stack_from_compose


def stack() -> object:
    return stack_from_compose(
        {
            "services": {
                "proxy": {
                    "image": "nginx",
                    "volumes": [
                        {
                            "type": "bind",
                            "source": "/workspaces/app/conf/nginx.conf",
                            "target": "/etc/nginx/nginx.conf",
                        },
                        {
                            "type": "bind",
                            "source": "/var/run/docker.sock",
                            "target": "/var/run/docker.sock",
                        },
                        {"type": "volume", "source": "data", "target": "/data"},
                    ],
                },
                "tools": {
                    "image": "node",
                    "volumes": [{"type": "bind", "source": "/workspaces/app", "target": "/w"}],
                },
            },
            "configs": {
                "rules": {"file": "/workspaces/app/docker/alerts.yml"},
                "inline": {"content": "x"},
                "elsewhere": {"file": "/etc/hosts"},
            },
            "secrets": {"token": {"file": "/workspaces/app/.secrets/TOKEN"}},
        }
    )


def test_binds_under_the_workspace_get_the_hosts_path() -> None:
    override = host_path_override(stack(), "/workspaces/app", "/home/me/src/app")  # type: ignore[arg-type]
    assert override == {
        "services": {
            "proxy": {
                "volumes": [
                    {
                        "type": "bind",
                        "source": "/home/me/src/app/conf/nginx.conf",
                        "target": "/etc/nginx/nginx.conf",
                    }
                ]
            },
            "tools": {"volumes": [{"type": "bind", "source": "/home/me/src/app", "target": "/w"}]},
        },
        # Compose bind-mounts a config or secret file from the engine's disk too.
        "configs": {"rules": {"file": "/home/me/src/app/docker/alerts.yml"}},
        "secrets": {"token": {"file": "/home/me/src/app/.secrets/TOKEN"}},
    }
    assert [b[0] for b in binds_under(stack(), "/workspaces/app")] == [  # type: ignore[arg-type]
        "proxy",
        "tools",
        "configs.rules",
        "secrets.token",
    ]


def test_translation_only_in_a_container_with_the_hosts_path_known() -> None:
    env = {"LOCAL_WORKSPACE_FOLDER": "/home/me/src/app"}
    assert translation_wanted(env, True, "/workspaces/app") == "/home/me/src/app"
    assert translation_wanted(env, False, "/workspaces/app") is None  # on the host itself
    assert translation_wanted({}, True, "/workspaces/app") is None
    assert translation_wanted(env, True, "/home/me/src/app") is None  # mounted at the same path

"""`chargebox config check`: exit status and output."""

from __future__ import annotations

import argparse

from chargebox.cli import config as config_cli

from .support import FULL, SEED


def run(argv: list[str]) -> int:
    # build the parser from this module only, so the test does not depend on the other
    # subcommands being present
    parser = argparse.ArgumentParser(prog="chargebox")
    config_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_check_the_seed(capsys) -> None:
    assert run(["config", "check", str(SEED)]) == 0
    out = capsys.readouterr().out
    assert "Core.WebsocketPingInterval: read as WebSocketPingInterval" in out
    assert f"{SEED}: OK: 67 keys visible to the CSMS" in out  # AuthorizationKey not among them
    assert "connects to ws://127.0.0.1:8180/steve/websocket/CentralSystemService/cp001" in out


def test_check_the_full_config(capsys) -> None:
    assert run(["config", "check", str(FULL)]) == 0
    assert "SecurityProfile 2; connects to wss://" in capsys.readouterr().out


def test_check_lists_every_problem(seed: dict, write, capsys) -> None:
    seed["Core"]["HeartbeatInterval"] = -5
    seed["Core"]["HeartbeatIntervall"] = 5
    path = write(seed)
    assert run(["config", "check", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}: 2 problems",
        f"  {path}: Core.HeartbeatInterval = -5: must be an integer >= 0",
        f"  {path}: Core.HeartbeatIntervall: unknown key (did you mean HeartbeatInterval?)",
    ]


def test_check_refuses_a_key_too_short_to_send(seed: dict, write, capsys) -> None:
    seed["Security"]["AuthorizationKey"] = "0102030405"  # 5 bytes, at security profile 1
    path = write(seed)
    assert run(["config", "check", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}: 1 problem",
        f"  {path}: Security.AuthorizationKey = <hidden>: stands for a password of 5 bytes; "
        "security profile 1 sends it with HTTP Basic and needs at least 8 (the security "
        "whitepaper asks for 16; a value of hex pairs is the bytes it encodes)",
    ]


def test_check_with_an_overlay(seed: dict, write, capsys) -> None:
    base = write(seed)
    overlay = write({"Security": {"SecurityProfile": 2}}, "user.json")
    assert run(["config", "check", str(base), "--overlay", str(overlay)]) == 0
    assert "SecurityProfile 2; connects to wss://" in capsys.readouterr().out
    overlay = write({"Security": {"SecurityProfile": "2"}}, "user.json")
    assert run(["config", "check", str(base), "--overlay", str(overlay)]) == 1
    assert f'{overlay}: Security.SecurityProfile = "2": must be an integer' in (
        capsys.readouterr().out
    )


def test_config_without_action_prints_usage(capsys) -> None:
    assert run(["config"]) == 2
    assert "check" in capsys.readouterr().out

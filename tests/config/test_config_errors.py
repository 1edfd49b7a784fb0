"""Each kind of config mistake gets a message naming the file and the key path."""

import pytest

from dialer.config import ConfigError, load_config, parse_config

SOURCE = "config/demo.toml"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, SOURCE)
    return info.value.problems


def test_bad_time_names_file_and_key():
    assert problems('[[campaigns]]\nname = "a"\ncalling_hours = { start = "25:00" }\n') == [
        'config/demo.toml: campaigns[0].calling_hours.start: "25:00" is not a time (HH:MM)']


def test_wrong_type():
    assert problems('[[trunks]]\nname = "t"\nhost = "h"\nport = "5060"\n') == [
        'config/demo.toml: trunks[0].port: "5060" is not a whole number']


def test_unknown_key_lists_the_known_ones():
    [p] = problems('[[campaigns]]\nname = "a"\ncolour = "red"\n')
    assert p.startswith("config/demo.toml: campaigns[0].colour: unknown key (known: ")
    assert "calling_hours" in p


def test_missing_required_key():
    assert problems('[[trunks]]\nname = "t"\n') == ["config/demo.toml: trunks[0].host: is required"]


def test_value_out_of_range_and_bad_choice():
    got = problems('[[campaigns]]\nname = "a"\ndial_mode = "turbo"\n[campaigns.pacing]\n'
                   'target_abandon_rate = 1.5\n')
    assert got == [
        'config/demo.toml: campaigns[0].dial_mode: "turbo" is not one of preview, progressive, power, predictive',
        "config/demo.toml: campaigns[0].pacing.target_abandon_rate: 1.5 must be between 0 and 1",
    ]


def test_bad_timezone_and_country():
    got = problems('[[campaigns]]\nname = "a"\ntimezone = "Mars/Olympus"\ncountry = "XX"\n')
    assert 'config/demo.toml: campaigns[0].timezone: "Mars/Olympus" is not an IANA timezone' in got
    assert any(p.startswith('config/demo.toml: campaigns[0].country: "XX"') for p in got)


def test_cross_field_checks():
    got = problems('[[campaigns]]\nname = "a"\ncalling_hours = { start = "21:00", end = "09:00" }\n'
                   '[[campaigns]]\nname = "a"\n')
    assert "config/demo.toml: campaigns[0].calling_hours: calling_hours: end 09:00 is not after start 21:00" in got


def test_duplicate_names():
    assert problems('[[campaigns]]\nname = "a"\n[[campaigns]]\nname = "a"\n') == [
        "config/demo.toml: (top): campaigns: name 'a' is used more than once"]


def test_every_problem_is_reported_at_once():
    got = problems('[[campaigns]]\nname = "a"\nactive = "yes"\nholidays = ["2026-13-01"]\n'
                   '[[timezone_rules]]\nzone = "America/Chicago"\n')
    assert got == [
        'config/demo.toml: campaigns[0].holidays[0]: "2026-13-01" is not a date (YYYY-MM-DD)',
        'config/demo.toml: campaigns[0].active: "yes" is not true or false',
        "config/demo.toml: timezone_rules[0]: timezone rule needs one of region, postal_prefix, area_code",
    ]


def test_invalid_toml_and_missing_file(tmp_path):
    assert problems("[[campaigns]\n")[0].startswith("config/demo.toml: not valid TOML:")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert info.value.problems == [f"{tmp_path / 'nope.toml'}: no such file"]


def test_example_config_is_valid_and_complete():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    config = load_config(root / "config" / "example.toml")
    assert config.campaigns and config.trunks and config.timezone_rules
    assert config.campaigns[0].lists and config.campaigns[0].call_modes and config.campaigns[0].wrap_codes


def test_trunk_transport_is_udp_or_tcp():
    config = parse_config('[[trunks]]\nname = "t"\nhost = "h"\ntransport = "tcp"\n', SOURCE)
    assert config.trunks[0].transport == "tcp"
    (problem,) = problems('[[trunks]]\nname = "t"\nhost = "h"\ntransport = "sctp"\n')
    assert problem.startswith("config/demo.toml: trunks[0].transport:") and "udp" in problem

"""Per-row validation: phones, postal codes, timezones, statuses (pure, no database)."""

import pytest

from dialer.leads.normalise import (
    RowError, TimezoneRule, TimezoneRules, ValidationContext, normalise_phone, normalise_postal_code,
    resolve_timezone, us_state_zones, validate_row,
)


@pytest.mark.parametrize("raw", [
    "2125550123", "212-555-0123", "(212) 555-0123", "212.555.0123", "1 212 555 0123",
    "+1 (212) 555-0123", "+12125550123", " 212 555 0123 ", "[212] 555 0123", "011 1 212 555 0123",
])
def test_us_formats_become_e164(raw):
    assert normalise_phone(raw, "US")[0] == "+12125550123"


def test_us_number_type_is_fixed_line_or_mobile():
    assert normalise_phone("2125550123", "US")[1] == "fixed_line_or_mobile"


def test_canadian_number_in_us_campaign_is_valid():
    assert normalise_phone("416 555 0123", "US")[0] == "+14165550123"


def test_foreign_numbers_and_types():
    assert normalise_phone("07911 123456", "GB") == ("+447911123456", "mobile")
    assert normalise_phone("+44 20 7946 0018", "US") == ("+442079460018", "fixed_line")
    assert normalise_phone("0412 345 678", "AU") == ("+61412345678", "mobile")


@pytest.mark.parametrize("raw,reason", [
    ("", "missing_phone"), (None, "missing_phone"), ("   ", "missing_phone"),
    ("555-12", "invalid_phone"), ("hello", "invalid_phone"), ("1234567890", "invalid_phone"),
    ("212555012345678", "invalid_phone"), ("+1 212 555 01", "invalid_phone"),
])
def test_bad_numbers_are_rejected_with_a_reason(raw, reason):
    with pytest.raises(RowError) as info:
        normalise_phone(raw, "US")
    assert info.value.reason == reason


@pytest.mark.parametrize("raw,expected", [
    ("123", "00123"), ("1234", "01234"), ("12345", "12345"), ("12", None), ("1", None),
    ("123456789", "123456789"), ("12345-6789", "12345-6789"), ("", None), (None, None), (" 501 ", "00501"),
])
def test_us_zip_padding(raw, expected):
    assert normalise_postal_code(raw, "US") == expected


def test_non_us_postal_codes_are_kept():
    assert normalise_postal_code("2000", "AU") == "2000"
    assert normalise_postal_code(" SW1A 1AA ", "GB") == "SW1A 1AA"


def test_state_table_ships_every_state():
    table = us_state_zones()
    assert table["az"] == "America/Phoenix"
    assert table["hawaii"] == "Pacific/Honolulu"
    assert len({k for k in table if len(k) == 2}) >= 51


def test_timezone_order_iana_first():
    zone, _, warnings = resolve_timezone({"timezone": "Europe/Paris", "region": "TX"}, TimezoneRules(),
                                         "America/New_York", "+12125550123")
    assert (zone, warnings) == ("Europe/Paris", [])


def test_bad_iana_name_warns_and_falls_through_to_rules():
    zone, _, warnings = resolve_timezone({"timezone": "Mars/Olympus", "region": "tx"}, TimezoneRules(),
                                         "America/New_York", "+12125550123")
    assert zone == "America/Chicago"
    assert len(warnings) == 1 and "Mars/Olympus" in warnings[0]


def test_user_rules_before_state_table_case_insensitive():
    rules = TimezoneRules([TimezoneRule(zone="America/Denver", region="TX", postal_prefix="799")])
    assert resolve_timezone({"region": "Tx", "postal_code": "79901"}, rules, "UTC", "+19155550123")[0] == \
        "America/Denver"
    assert resolve_timezone({"region": "tx", "postal_code": "75001"}, rules, "UTC", "+12145550123")[0] == \
        "America/Chicago"


def test_area_code_rule():
    rules = TimezoneRules([TimezoneRule(zone="America/Phoenix", area_code="480")])
    assert resolve_timezone({}, rules, "UTC", "+14805550123")[0] == "America/Phoenix"


def test_phonenumbers_zone_then_campaign_default():
    # No region: the zone phonenumbers gives for a New York number.
    assert resolve_timezone({}, TimezoneRules(), "UTC", "+12125550123")[:2] == ("America/New_York", None)
    # Several zones for the number (Australia): the campaign default, all zones kept.
    zone, zones, _ = resolve_timezone({}, TimezoneRules(), "Australia/Sydney", "+61412345678")
    assert zone == "Australia/Sydney" and zones and len(zones) > 1


def test_state_table_only_for_us_leads():
    # WA in Australia is Western Australia, not Washington.
    zone, _, _ = resolve_timezone({"region": "WA", "country": "AU"}, TimezoneRules(), "Australia/Perth",
                                  "+61412345678")
    assert zone == "Australia/Perth"


def test_rule_from_mapping_checks_zone_and_keys():
    with pytest.raises(ValueError, match="IANA"):
        TimezoneRule.from_mapping({"zone": "Nowhere/Land", "region": "TX"})
    with pytest.raises(ValueError, match="needs one of"):
        TimezoneRule.from_mapping({"zone": "UTC"})
    with pytest.raises(ValueError, match="unknown key"):
        TimezoneRule.from_mapping({"zone": "UTC", "state": "TX"})


def test_validate_row_full():
    ctx = ValidationContext(country="US", strip_chars="&*", statuses=frozenset({"NEW", "NA"}))
    lead = validate_row({"phone": "(212) 555-0123", "first_name": " Ann & Co* ", "postal_code": "501",
                         "region": "ny", "alt_phone_1": "646.555.0100", "alt_phone_2": "nope",
                         "status": "na", "called_count": "3", "Favourite colour": "blue"}, ctx)
    assert lead.phone == "+12125550123"
    assert lead.first_name == "Ann  Co"
    assert lead.postal_code == "00501"
    assert lead.timezone == "America/New_York"
    assert lead.alt_phones == ["+16465550100"]
    assert lead.status == "NA" and lead.attempts == 3
    assert lead.fields == {"Favourite colour": "blue"}
    assert len(lead.warnings) == 1


def test_validate_row_status_rules():
    ctx = ValidationContext(statuses=frozenset({"NEW"}))
    with pytest.raises(RowError) as info:
        validate_row({"phone": "2125550123", "status": "ZZ"}, ctx)
    assert info.value.reason == "unknown_status"
    ctx.backup_status = "NEW"
    assert validate_row({"phone": "2125550123", "status": "ZZ"}, ctx).status == "NEW"
    with pytest.raises(RowError) as info:
        validate_row({"phone": "2125550123", "called_count": "-1"}, ctx)
    assert info.value.reason == "bad_called_count"


def test_nanp_cache_by_thousands_block_matches_phonenumbers():
    """The NPA-NXX-X cache gives phonenumbers' own answer for any last 3 digits."""
    import random

    import phonenumbers

    from dialer.leads.normalise import _nanp_kind, _nanp_kind_uncached

    rng = random.Random(3)
    for _ in range(3000):
        prefix = str(rng.randint(2000000, 9999999))
        for country in ("US", "CA"):
            _nanp_kind(country, prefix + "000")  # fill the cache from one number of the block
            for tail in (rng.randint(0, 999) for _ in range(3)):
                national = f"{prefix}{tail:03d}"
                assert _nanp_kind(country, national) == _nanp_kind_uncached(country, national), national
                number = phonenumbers.parse("+1" + national)
                valid = _nanp_kind(country, national) != phonenumbers.PhoneNumberType.UNKNOWN
                assert valid == phonenumbers.is_valid_number(number), national
                if valid:
                    assert _nanp_kind(country, national) == phonenumbers.number_type(number), national


def test_compiled_type_helper_matches_phonenumbers():
    import random

    import phonenumbers
    from phonenumbers import phonenumberutil

    from dialer.leads.normalise import _type_in_region

    rng = random.Random(5)
    for region in ("US", "CA", "GB", "AU", "DE", "FR", "IN", "BR"):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        for _ in range(2000):
            national = str(rng.randint(10 ** 8, 10 ** 10))
            assert _type_in_region(region, national) == phonenumberutil._number_type_helper(national, metadata)

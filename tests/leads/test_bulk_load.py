"""The bulk insert's shortcut: no per-row foreign-key checks, hopper triggers still fire."""

from test_import_options import imp

FILE = ("phone,state,timezone\n2125550101,NY,\n2135550102,CA,\n5125550103,tx,America/Chicago\n"
        "3055550104,,\n2025550105,Mars,Pacific/Honolulu\n")


def test_import_skips_fk_checks_and_keeps_window_keys(cli, campaign, write, sql):
    superuser = sql("SELECT current_setting('is_superuser') = 'on' AS su")[0]["su"]
    s = imp(cli, write("a.csv", FILE), "--campaign", campaign, "--list", "Main")
    assert s["imported"] == 5
    # The shortcut is taken where it may be (a superuser, only ALWAYS triggers on lead) ...
    assert s["phases"]["fk_checks"] == ("skipped (locked campaign and list)" if superuser else "per row")
    # ... and the hopper's statement trigger still recorded every lead's window key.
    leads = {r["k"] for r in sql("SELECT lead_window_key(timezone, timezones, region, country) AS k FROM lead")}
    keys = {r["key"] for r in sql("SELECT key FROM lead_window_key")}
    assert len(leads) == 5 and leads <= keys


def test_an_ordinary_trigger_on_lead_turns_the_shortcut_off(cli, campaign, write, sql):
    """Replica mode would silence a trigger that is not ALWAYS: then the import checks per row."""
    sql("CREATE TABLE seen (phone text)")
    sql("CREATE FUNCTION see_lead() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN INSERT INTO seen VALUES (NEW.phone); RETURN NEW; END $$")
    sql("CREATE TRIGGER see_lead AFTER INSERT ON lead FOR EACH ROW EXECUTE FUNCTION see_lead()")
    s = imp(cli, write("a.csv", FILE), "--campaign", campaign, "--list", "Main")
    assert s["imported"] == 5
    assert s["phases"]["fk_checks"] == "per row"
    assert sql("SELECT count(*) AS n FROM seen")[0]["n"] == 5

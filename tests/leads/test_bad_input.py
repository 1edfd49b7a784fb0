"""Bad input gets a clear error naming the row, line or column, and nothing is written."""

import pytest


@pytest.fixture
def nothing_written(sql):
    def check():
        assert sql("SELECT count(*) AS n FROM lead")[0]["n"] == 0
        assert [r["name"] for r in sql("SELECT name FROM lead_list")] == ["Main"]
    return check


def fails(cli, *args):
    r = cli("import", *map(str, args))
    assert r.code == 2, r
    assert r.err.startswith("dialer: ") and "Traceback" not in r.err
    return r.err


def test_empty_file(cli, campaign, write, nothing_written):
    err = fails(cli, write("e.csv", ""), "--campaign", campaign, "--new-list", "X")
    assert "empty" in err
    err = fails(cli, write("bom.csv", "\ufeff\r\n"), "--campaign", campaign, "--new-list", "X")
    assert "empty" in err
    err = fails(cli, write("h.csv", "phone,name\n"), "--campaign", campaign, "--new-list", "X")
    assert "no data rows" in err
    nothing_written()


def test_binary_file(cli, campaign, write, nothing_written):
    err = fails(cli, write("b.csv", b"PK\x03\x04\x00\x00binary\x00stuff"), "--campaign", campaign,
                "--new-list", "X")
    assert "binary" in err
    nothing_written()


def test_wrong_delimiter_names_the_missing_column(cli, campaign, write, nothing_written):
    path = write("a.csv", "phone;name\n2125550101;Ann\n")
    err = fails(cli, path, "--campaign", campaign, "--new-list", "X", "--delimiter", ",",
                "--map", "phone=phone,name=first_name")
    assert "'phone'" in err and "not in the file's header" in err and "phone;name" in err
    nothing_written()


def test_missing_mapped_column(cli, campaign, write, nothing_written):
    err = fails(cli, write("a.csv", "Phone,Name\n2125550101,Ann\n"), "--campaign", campaign, "--new-list", "X",
                "--map", "Phone=phone,Zip Code=postal_code")
    assert "'Zip Code'" in err and "'Phone'" in err
    err = fails(cli, write("b.csv", "2125550101,Ann\n"), "--campaign", campaign, "--new-list", "X",
                "--no-header", "--map", "1=phone,5=city")
    assert "'5'" in err and "1..2" in err
    err = fails(cli, write("c.csv", "Name\nAnn\n"), "--campaign", campaign, "--new-list", "X")
    assert "phone" in err
    nothing_written()


def test_unknown_list_or_campaign(cli, campaign, write, nothing_written):
    path = write("a.csv", "phone\n2125550101\n")
    assert "no campaign 'Nope'" in fails(cli, path, "--campaign", "Nope", "--list", "Main")
    assert "no list 'Nope'" in fails(cli, path, "--campaign", campaign, "--list", "Nope")
    assert "already has a list 'Main'" in fails(cli, path, "--campaign", campaign, "--new-list", "Main")
    nothing_written()


def test_undecodable_bytes_name_the_line(cli, campaign, write, nothing_written):
    early = "phone,name\n2125550101,Ann\n".encode() + b"2125550102,Caf\xe9\n"
    err = fails(cli, write("a.csv", early), "--campaign", campaign, "--new-list", "X")
    assert "line 3" in err and "UTF-8" in err
    # Past the part sniffed up front: found while streaming, still nothing written.
    body = "".join(f"212555{n:04d},Name{n}\n" for n in range(100, 5100)).encode()
    late = b"phone,name\n" + body + b"2125550102,Caf\xe9\n"
    assert len(late) > 64 * 1024
    err = fails(cli, write("b.csv", late), "--campaign", campaign, "--new-list", "X", "--dup-scope", "none")
    assert "line 5002" in err and "UTF-8" in err
    nothing_written()


def test_ragged_rows_are_rejected_with_their_row(cli, campaign, write, tmp_path):
    r = cli("import", write("a.csv", "phone,name\n2125550101,Ann\n2125550102\n2125550103,Cy,extra\n"),
            "--campaign", campaign, "--list", "Main", "--json")
    assert r.code == 0, r
    assert r.json()["reasons"] == {"wrong_field_count": 2}


def test_bad_mapping_file(cli, campaign, write, tmp_path):
    bad = tmp_path / "m.toml"
    bad.write_text("[map\n")
    assert "not valid TOML" in fails(cli, write("a.csv", "phone\n2125550101\n"), "--campaign", campaign,
                                     "--list", "Main", "--mapping", bad)
    bad.write_text('[map]\nphone = "phone"\n[[timezone_rules]]\nregion = "TX"\nzone = "Mars/Base"\n')
    err = fails(cli, write("a.csv", "phone\n2125550101\n"), "--campaign", campaign, "--list", "Main",
                "--mapping", bad)
    assert "timezone_rules[0]" in err and "Mars/Base" in err
    assert "COLUMN=FIELD" in fails(cli, write("a.csv", "phone\n2125550101\n"), "--campaign", campaign,
                                   "--list", "Main", "--map", "phone")


def test_database_failure_midway_leaves_no_partial_list(cli, campaign, write, sql):
    """All or nothing: an error inside the load (here a trigger refusing one row,
    standing in for a database restart) rolls back the new list and every lead."""
    sql("""CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN IF NEW.phone = '+12125550150' THEN RAISE EXCEPTION 'refused %', NEW.phone; END IF;
           RETURN NEW; END $$""")
    sql("CREATE TRIGGER refuse BEFORE INSERT ON lead FOR EACH ROW EXECUTE FUNCTION refuse()")
    lines = "phone\n" + "".join(f"212555{n:04d}\n" for n in range(100, 200))
    r = cli("import", write("a.csv", lines), "--campaign", campaign, "--new-list", "Half")
    assert r.code != 0
    assert sql("SELECT count(*) AS n FROM lead")[0]["n"] == 0
    assert sql("SELECT count(*) AS n FROM lead_list WHERE name = 'Half'")[0]["n"] == 0


def test_bad_bytes_after_batches_were_streamed_to_the_database(cli, campaign, write, nothing_written):
    """The load's COPY already holds the first batches (two parser processes)
    when the reader meets undecodable bytes: the import still writes nothing."""
    body = "".join(f"212{n:07d},Name{n}\n" for n in range(5550000, 5562000)).encode()
    path = write("c.csv", b"phone,name\n" + body + b"2125550102,Caf\xe9\n")
    err = fails(cli, path, "--campaign", campaign, "--new-list", "X", "--dup-scope", "none", "--workers", "2")
    assert "line 12002" in err and "UTF-8" in err
    nothing_written()

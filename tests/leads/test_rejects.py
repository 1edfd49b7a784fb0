"""The compact reject log: counts, row order across batches and the database, detail limit."""

from dialer.leads import rejects as rejects_module
from dialer.leads.rejects import RejectLog


def test_merges_batches_in_any_order_with_database_rejects():
    log = RejectLog()
    log.add_segment([(7, "invalid_phone", "x"), (9, "missing_phone", "")])
    log.add_segment([(2, "invalid_phone", "y")])
    log.add_segment([(3, "dnc", "+12125550101"), (8, "duplicate", "+12125550102")])  # the database's, sorted
    assert log.count == 5
    assert log.reasons() == {"dnc": 1, "duplicate": 1, "invalid_phone": 2, "missing_phone": 1}
    assert [r for r, _, _ in log.iter_sorted()] == [2, 3, 7, 8, 9]
    assert list(log.iter_sorted())[0] == (2, "invalid_phone", "y")


def test_details_are_kept_for_the_first_rejects_only(monkeypatch):
    monkeypatch.setattr(rejects_module, "DETAIL_LIMIT", 2)
    log = RejectLog()
    log.add_segment([(1, "invalid_phone", "a"), (2, "invalid_phone", "b"), (3, "invalid_phone", "c")])
    assert [d for _, _, d in log.iter_sorted()] == ["a", "b", ""]
    assert log.reasons() == {"invalid_phone": 3}

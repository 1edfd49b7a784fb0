"""The carrier's report: counts, CPS, concurrency, talk statistics; order-independent."""

from __future__ import annotations

import json
import random

from sim.report import CallRecord, CarrierReport


def _records():
    return [
        CallRecord("1", "answered", 0.0, answered=2.0, ended=12.0, result="answered", hangup="callee"),
        CallRecord("2", "busy", 0.5, ended=3.0, result="busy"),
        CallRecord("3", "machine", 1.0, answered=4.0, ended=9.0, result="machine", hangup="caller"),
        CallRecord("4", "answered", 1.5, answered=5.0, ended=25.0, result="answered", hangup="callee"),
        CallRecord("5", "no_answer", 2.5, ended=27.5, result="no_answer"),
        CallRecord("6", "answered", 3.0, ended=4.0, result="cancelled"),
        CallRecord("7", "answered", 12.0, answered=13.0),  # still talking at the end
    ]


def test_summary_counts_and_figures():
    report = CarrierReport()
    for r in _records():
        report.start(r)
    report.refuse("cps", 1.2)
    report.refuse("channels", 2.2)
    s = report.summary(now=30.0)
    assert s["calls"] == 7
    assert s["planned"]["answered"] == 4
    assert s["results"]["answered"] == 2 and s["results"]["cancelled"] == 1
    assert s["results"]["in_progress"] == 1
    assert s["limited"] == {"channels": 1, "cps": 1}
    assert s["hangups"] == {"callee": 2, "caller": 1}
    assert s["duration"] == 30.0
    assert s["cps"]["peak"] == 2  # second 0: calls 1 and 2; second 1: calls 3 and 4
    assert s["talk"]["count"] == 2 and s["talk"]["mean"] == 15.0 and s["talk"]["max"] == 20.0
    assert s["machine"]["mean"] == 5.0
    # at t=3.0 calls 1,3,4,5 and 6 are up (2 ended at 3.0, before 6 started)
    assert s["concurrent"]["peak"] == 5
    json.dumps(s)


def test_peak_cps_window():
    report = CarrierReport()
    for i in range(10):
        report.start(CallRecord(str(i), "busy", 5 + i * 0.05, ended=6.0, result="busy"))
    report.start(CallRecord("x", "busy", 0.0, ended=1.0, result="busy"))
    s = report.summary(now=10.0)
    assert s["cps"]["peak"] == 10
    assert s["cps"]["mean"] == 1.1


def test_same_records_in_any_order_give_the_same_report():
    records = _records()
    first = CarrierReport()
    for r in records:
        first.start(r)
    shuffled = CarrierReport()
    order = records[:]
    random.Random(3).shuffle(order)
    for r in order:
        shuffled.start(r)
    assert json.dumps(first.summary(40.0)) == json.dumps(shuffled.summary(40.0))

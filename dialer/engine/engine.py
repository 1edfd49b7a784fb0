"""One dialer node: the nursery tree `dialer run` starts.

    Engine.run
    ├── recovery        this node's open attempts closed as `unknown`, its leases released
    ├── SIP endpoint    UDP on node.sip_listen; the registrar answers REGISTER (per-operator digest)
    ├── HTTP            on node.http_listen: API, pages, /metrics (dialer.api)
    ├── trunk upkeep    OPTIONS keep-alives / REGISTER per trunk config; trunk gauges every second
    ├── journal         batched attempt endings
    └── CampaignRunner × active campaigns (one hopper and one pacer each)

`stop()` (SIGINT/SIGTERM in `dialer run`) stops new dials; runners drain live calls up to
their drain timeout, hang up the rest and record outcomes; then everything closes.
"""

from __future__ import annotations

import functools

import logging
from dataclasses import dataclass, field

import trio

from dialer.clock import Clock
from dialer.net import UdpNetwork
from dialer.sip.endpoint import open_endpoint
from dialer.sip.trunk import TrunkPool

from .bridge import SipBridge, SipPlacer
from .compat import Hopper, finish_attempts, finish_unknown, make_pacer, start_attempts
from .journal import CallJournal
from .metrics import EngineMetrics
from .operators import OperatorDesk, callback_owner
from .registrar import Registrar
from .runner import CampaignRunner, RunnerSettings

log = logging.getLogger("dialer.engine")


def split_host_port(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{what}: {text!r} is not HOST:PORT")
    return host or "127.0.0.1", int(port)


@dataclass
class EngineOptions:
    node: str = "node-1"
    sip_listen: str = "127.0.0.1:5060"
    http_listen: str | None = "127.0.0.1:8080"
    lease_seconds: float = 60.0
    drain_timeout: float = 30.0
    hangup_answered: bool = False          # bench: answered calls hang up at once
    campaigns: list[str] | None = None     # None: every active campaign
    require_phone: bool = True
    runner_overrides: dict = field(default_factory=dict)


class Engine:
    def __init__(self, store, trunks: TrunkPool, options: EngineOptions, *, network=None,
                 clock: Clock | None = None, metrics: EngineMetrics | None = None):
        self.store, self.trunks, self.options = store, trunks, options
        self.network = network or UdpNetwork()
        self.clock = clock
        self.metrics = metrics or EngineMetrics()
        self.desk = OperatorDesk(on_wrap=self._store_wrap, listeners=[self.metrics.operator_moved],
                                 require_phone=options.require_phone)
        self.runners: list[CampaignRunner] = []
        self.endpoint = None
        self.registrar: Registrar | None = None
        self.journal: CallJournal | None = None
        self.recovered: dict = {}
        self.sip_address = None
        self.http_address = None
        self._stop = trio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        from dialer.store.campaigns import list_campaigns
        from dialer.store.operators import active_operators
        from dialer.store.recovery import recover_node

        self.clock = self.clock or Clock()
        opts = self.options
        self.recovered = await self.store.run(recover_node, opts.node, self.clock.now(), finish_unknown)
        operators = await self.store.run(active_operators)
        for row in operators:
            self.desk.add(row["id"], row["name"], sip_user=row["sip_user"])
        self.metrics.operators_present(self.desk.counts())
        self.registrar = Registrar(self.desk, {r["sip_user"]: (r["id"], r["sip_password"] or "")
                                               for r in operators if r["sip_user"]})
        self.journal = CallJournal(self.store, start_attempts, finish_attempts, metrics=self.metrics)
        host, port = split_host_port(opts.sip_listen, "node.sip_listen")
        async with open_endpoint(self.network, host, port, on_request=self.registrar.on_request) as endpoint:
            self.endpoint = endpoint
            self.sip_address = endpoint.local_address
            async with trio.open_nursery() as nursery:
                if opts.http_listen:
                    http_host, http_port = split_host_port(opts.http_listen, "node.http_listen")
                    # The web API and pages (dialer.api), which also serve /metrics.
                    from dialer.api.app import serve_engine

                    self.http_address = await nursery.start(serve_engine, self, http_host, http_port)
                nursery.start_soon(self.trunks.keep_alive, endpoint)
                nursery.start_soon(self._trunk_gauges)
                await nursery.start(self.journal.run)
                campaigns = [c for c in await self.store.run(list_campaigns) if c["active"]
                             and (opts.campaigns is None or c["name"] in opts.campaigns)]
                placer, bridge = SipPlacer(endpoint, self.trunks), SipBridge(endpoint, self.registrar)
                self._placer = placer
                async with trio.open_nursery() as runners:
                    for campaign in campaigns:
                        runner = self._runner(campaign, placer, bridge)
                        self.runners.append(runner)
                        await runners.start(runner.run)
                    task_status.started(self)
                    await self._stop.wait()
                    for runner in self.runners:
                        runner.stop()
                await self.journal.drained()
                nursery.cancel_scope.cancel()

    def _runner(self, campaign: dict, placer, bridge) -> CampaignRunner:
        import datetime as dt

        from dialer.config.model import PacingConfig

        settings = campaign.get("settings") or {}
        if isinstance(settings, str):
            import json
            settings = json.loads(settings)
        pacing = settings.get("pacing") if isinstance(settings, dict) else None
        config = PacingConfig(**pacing) if isinstance(pacing, dict) else PacingConfig()
        opts = self.options
        runner_settings = RunnerSettings(node=opts.node, ring_timeout=config.ring_timeout_seconds,
                                         caller_id=campaign.get("caller_id"), drain_timeout=opts.drain_timeout,
                                         hangup_answered=opts.hangup_answered, **opts.runner_overrides)
        hopper = Hopper(self.store, self.clock, campaign["id"], opts.node,
                        lease=dt.timedelta(seconds=max(opts.lease_seconds, 30)))
        return CampaignRunner(campaign, clock=self.clock, journal=self.journal, hopper=hopper,
                              pacer=make_pacer(campaign["dial_mode"], config), placer=placer, desk=self.desk,
                              settings=runner_settings, metrics=self.metrics, bridge=bridge)

    async def _store_wrap(self, op, call, code, notes, callback_at) -> None:
        from dialer.store.lead_ops import apply_wrap

        if call.lead_id is None:
            return
        # The call's own ending (lead → ANSWERED) must be stored before the wrap moves the lead on.
        await self.journal.drained()
        await self.store.run(functools.partial(
            apply_wrap, lead_id=call.lead_id, code=code, now=self.clock.now(), author=op.name,
            operator_id=op.id, note=notes, callback_at=callback_at,
            callback_owner=callback_owner(op, call, callback_at), attempt_id=call.attempt_id))

    async def _trunk_gauges(self) -> None:
        last: dict[str, int] = {}
        while True:
            await trio.sleep(1)
            placed = getattr(self, "_placer", None)
            for trunk in self.trunks.trunks:
                self.metrics.trunk_channels.labels(trunk.name).set(trunk.in_use)
                if placed is not None:
                    count = placed.placed.get(trunk.name, 0)
                    self.metrics.trunk_cps.labels(trunk.name).set(count - last.get(trunk.name, 0))
                    last[trunk.name] = count

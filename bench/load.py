"""The load generator, as its own process: ``python -m bench.load PLAN.json OUT.json``.

Open loop: message ``i`` of a step is due at ``start + i / rate`` and is sent then, whether or
not earlier ones were answered; latency counts from that due time, so a slow server (or a late
generator) cannot hide. The generator watches itself: a step in which it used ≥ 90 % of its core
(saturated) or sent late (p99 lag over 5 ms: starved, its core was busy with other work) ends the
ladder, since its numbers would describe the generator or the machine, not the server.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.client import Peer, connect
from bench.stats import cpu_seconds, percentile, rss_bytes, summary_ms

now = time.perf_counter
SATURATED_CPU = 0.9
SATURATED_LAG_S = 0.005


@dataclass(slots=True)
class Sent:
    due: float
    sent: float = 0.0
    acked: float = 0.0
    delivered: float = 0.0
    chat_id: int = 0
    seq: int = 0


@dataclass
class World:
    base: str  # http://127.0.0.1:port
    kind: str  # kefu | relay
    admin_token: str
    server_pid: int
    agents: list[Peer] = field(default_factory=list)
    customers: list[Peer] = field(default_factory=list)
    agent_of: dict[int, Peer] = field(default_factory=dict)
    sent: dict[str, Sent] = field(default_factory=dict)
    welcome_at: dict[int, float] = field(default_factory=dict)
    assigned_at: dict[int, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=itertools.count)
    waiter: tuple[str, asyncio.Future[None]] | None = None
    tokens: list[str] = field(default_factory=list)
    # Several processes of one deployment (``bench.run procs``): clients spread over them in
    # turn, the admin API on the first, the server CPU summed over all.
    bases: list[str] = field(default_factory=list)
    server_pids: list[int] = field(default_factory=list)

    @property
    def ws(self) -> str:
        return self.base.replace("http", "ws", 1)

    def ws_for(self, n: int) -> str:
        """The WebSocket base of client ``n``: the processes in turn."""
        bases = self.bases or [self.base]
        return bases[n % len(bases)].replace("http", "ws", 1)

    def server_cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.server_pids or [self.server_pid])

    # -- frames in ---------------------------------------------------------------------------

    def on_customer(self, peer: Peer, text: str) -> None:
        if '"type":"message"' in text[:20]:
            if '"sender":"customer"' in text:
                return  # the echo of our own message
            frame = json.loads(text)
            if frame.get("template") == "welcome":
                self.welcome_at.setdefault(frame["chat_id"], now())
            elif "client_id" in frame:
                self._delivered(frame["client_id"])
            return
        frame = json.loads(text)
        kind = frame["type"]
        if kind == "ack":
            self._acked(frame)
        elif kind == "ready" and not peer.ready.done():
            peer.chat_id, peer.token = frame["chat_id"], frame["resume_token"]
            peer.ready.set_result(frame)
        elif kind == "error":
            self.errors.append(f"{frame.get('code')}: {frame.get('message')}")

    def on_agent(self, peer: Peer, text: str) -> None:
        if '"type":"message"' in text[:20]:
            if '"sender":"customer"' in text:
                self._delivered(json.loads(text)["client_id"])
            return
        frame = json.loads(text)
        kind = frame["type"]
        if kind == "ack":
            self._acked(frame)
        elif kind == "assigned":
            self.agent_of[frame["chat_id"]] = peer
            self.assigned_at.setdefault(frame["chat_id"], now())
            # A chat routed at its first message brings that message in its history.
            for message in frame.get("history", ()):
                if message.get("sender") == "customer" and "client_id" in message:
                    self._delivered(message["client_id"])
        elif kind == "ready" and not peer.ready.done():
            peer.agent_id = frame["agent"]["id"]
            peer.ready.set_result(frame)
        elif kind == "error":
            self.errors.append(f"{frame.get('code')}: {frame.get('message')}")

    def _acked(self, frame: dict[str, Any]) -> None:
        record = self.sent.get(frame["client_id"])
        if record is not None and not record.acked:
            record.acked, record.seq = now(), frame["seq"]
            self._wake(frame["client_id"])

    def _delivered(self, client_id: str) -> None:
        record = self.sent.get(client_id)
        if record is not None and not record.delivered:
            record.delivered = now()
            self._wake(client_id)

    def _wake(self, client_id: str) -> None:
        if self.waiter is not None and self.waiter[0] == client_id:
            record = self.sent[client_id]
            if record.acked and record.delivered and not self.waiter[1].done():
                self.waiter[1].set_result(None)

    # -- frames out --------------------------------------------------------------------------

    def send_message(self, chat: Peer, from_agent: bool, due: float) -> str:
        n = next(self.ids)
        if from_agent:
            client_id = f"a{n}"
            record = Sent(due, chat_id=chat.chat_id)
            self.sent[client_id] = record
            self.agent_of[chat.chat_id].send(
                {
                    "type": "message",
                    "chat_id": chat.chat_id,
                    "client_id": client_id,
                    "text": f"reply {n}",
                }
            )
        else:
            client_id = f"c{n}"
            record = Sent(due, chat_id=chat.chat_id)
            self.sent[client_id] = record
            chat.send({"type": "message", "client_id": client_id, "text": f"question {n}"})
        record.sent = now()
        return client_id


# -- phases ----------------------------------------------------------------------------------


async def connect_agents(world: World, count: int, capacity: int) -> None:
    tokens: list[str] = []
    if world.kind == "kefu":
        headers = {"Authorization": f"Bearer {world.admin_token}"}
        async with httpx.AsyncClient(base_url=world.base, headers=headers, timeout=30) as http:
            for i in range(count):
                response = await http.post(
                    "/api/v1/agents",
                    json={"name": f"agent{i}", "employee_no": f"b{i:05d}", "capacity": capacity},
                )
                response.raise_for_status()
                tokens.append(response.json()["token"])
    else:
        tokens = [f"relay{i}" for i in range(count)]
    for n, token in enumerate(tokens):
        peer = await connect(world.ws_for(n) + "/ws/agent", world.on_agent)
        peer.send({"type": "hello", "token": token})
        await asyncio.wait_for(peer.ready, 30)
        world.agents.append(peer)


async def phase_a(world: World, chats: int, per_second: float) -> dict[str, Any]:
    """Connect storm: customers open chats on a schedule; time from connect to welcome.

    Each customer writes once it is ready: kefu routes a chat at its first message (the
    default), so "routed" is the time from that message to the agent's ``assigned`` (the floor
    assigns at hello: 0 there).
    """
    started: dict[int, float] = {}
    first_at: dict[int, float] = {}
    failures: list[str] = []

    async def one(i: int) -> None:
        t0 = now()
        try:
            # The next process after the agent of the same number's: most chats cross processes.
            peer = await connect(world.ws_for(i + 1) + "/ws/customer", world.on_customer)
            peer.send({"type": "hello"})
            await asyncio.wait_for(peer.ready, 30)
        except Exception as exc:
            failures.append(repr(exc))
            return
        started[peer.chat_id] = t0
        world.customers.append(peer)
        first_at[peer.chat_id] = now()
        world.send_message(peer, False, first_at[peer.chat_id])

    t_start, cpu_start = now(), world.server_cpu()
    tasks = []
    for i in range(chats):
        delay = t_start + i / per_second - now()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    deadline = now() + 30
    while now() < deadline and (
        len(world.welcome_at) < len(started) or len(world.agent_of) < len(started)
    ):
        await asyncio.sleep(0.05)
    welcome = [world.welcome_at[c] - t0 for c, t0 in started.items() if c in world.welcome_at]
    routed = [
        max(0.0, world.assigned_at[c] - t1) for c, t1 in first_at.items() if c in world.assigned_at
    ]
    world.customers.sort(key=lambda peer: peer.chat_id)
    return {
        "chats": chats,
        "per_second": per_second,
        "connected": len(started),
        "failures": len(failures),
        "failure_sample": failures[:3],
        "assigned": sum(1 for c in started if c in world.agent_of),
        "welcome": summary_ms(welcome),
        "routed": summary_ms(routed),
        "duration_s": round(now() - t_start, 2),
        # Everything a chat cost the server: its hello, first message, routing and frames.
        "server_cpu_ms_per_chat": round((world.server_cpu() - cpu_start) * 1000 / chats, 2),
    }


async def phase_b(world: World, count: int) -> dict[str, Any]:
    """One chat, nothing else moving: one message in flight at a time, customer → agent."""
    chat = world.customers[0]
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    acks: list[float] = []
    for _ in range(count):
        future: asyncio.Future[None] = loop.create_future()
        due = now()
        client_id = world.send_message(chat, False, due)
        world.waiter = (client_id, future)
        await asyncio.wait_for(future, 10)
        record = world.sent[client_id]
        latencies.append(record.delivered - due)
        acks.append(record.acked - due)
    world.waiter = None
    return {"messages": count, "latency": summary_ms(latencies), "ack": summary_ms(acks)}


async def run_step(
    world: World, rate: float, duration: float, agent_share: float, drain_s: float
) -> dict[str, Any]:
    chats = [c for c in world.customers if c.chat_id in world.agent_of]
    total = int(rate * duration)
    every = max(1, round(1 / agent_share)) if agent_share > 0 else 0
    ids: list[str] = []
    lags: list[float] = []
    # The generator's own garbage collection would stall its schedule (tens of ms with every
    # sent message on record): collect before the step, none during it.
    gc.collect()
    gc.freeze()
    gc.disable()
    cpu0, server0, errors0 = resource.getrusage(resource.RUSAGE_SELF), None, len(world.errors)
    server0 = world.server_cpu()
    start = now()
    i = 0
    while i < total:
        due_now = min(total, int((now() - start) * rate) + 1)
        while i < due_now:
            due = start + i / rate
            chat = chats[i % len(chats)]
            from_agent = every > 0 and (i // len(chats)) % every == every - 1
            ids.append(world.send_message(chat, from_agent, due))
            lags.append(world.sent[ids[-1]].sent - due)
            i += 1
        # Timers tick in milliseconds: a shorter sleep would spin. Whatever fell due meanwhile
        # goes out on the next tick, its lateness counted in its latency.
        await asyncio.sleep(max(start + i / rate - now(), 0.001))
    send_end = now()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    server1 = world.server_cpu()
    deadline = send_end + drain_s
    records = [world.sent[c] for c in ids]
    while now() < deadline and not all(r.acked and r.delivered for r in records[-200:]):
        await asyncio.sleep(0.02)
    while now() < deadline and not all(r.acked and r.delivered for r in records):
        await asyncio.sleep(0.05)
    gc.enable()
    wall = send_end - start
    gen_cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / wall
    latencies = [r.delivered - r.due for r in records if r.delivered]
    acks = [r.acked - r.due for r in records if r.acked]
    lost = sum(1 for r in records if not (r.acked and r.delivered))
    lag_p99 = percentile(lags, 99) or 0.0
    saturated = gen_cpu >= SATURATED_CPU or lag_p99 > SATURATED_LAG_S
    latency = summary_ms(latencies)
    achieved = total / wall if wall > 0 else 0.0
    errors = len(world.errors) - errors0
    p99 = latency["p99_ms"]
    passed = (
        lost == 0
        and errors == 0
        and not saturated
        and p99 is not None
        and p99 <= 20
        and achieved >= 0.95 * rate
    )
    return {
        "rate": rate,
        "duration_s": duration,
        "sent": total,
        "achieved_rate": round(achieved, 1),
        "latency": latency,
        "ack": summary_ms(acks),
        "lost": lost,
        "errors": errors,
        "generator_cpu": round(gen_cpu, 3),
        "send_lag_p99_ms": round(lag_p99 * 1000, 3),
        "generator_saturated": saturated,
        "server_cpu": round((server1 - server0) / wall, 3),
        "server_cpu_us_per_msg": round((server1 - server0) / total * 1e6, 1) if total else None,
        "passed": passed,
    }


async def phase_c(world: World, plan: dict[str, Any]) -> dict[str, Any]:
    """The rate ladder until p99 > 20 ms, a lost message or a saturated generator.

    With ``through`` (``bench.run procs``) the ladder goes on past the first step that failed,
    for the CPU per message at every rate, until the server falls behind (a message lost or
    the rate not reached) or the generator saturates; the sustained rate is still the last
    step passed before the first failure.
    """
    steps: list[dict[str, Any]] = []
    timers: dict[str, Any] | None = None
    best = 0.0
    stop_reason = "ladder exhausted"
    failed = False
    for rate in plan["rates"]:
        step = await run_step(world, rate, plan["step_s"], plan["agent_share"], plan["drain_s"])
        steps.append(step)
        print(f"  step {rate:>6} msg/s: {step_line(step)}", file=sys.stderr, flush=True)
        if not step["passed"] and not failed:
            stop_reason, failed = reason(step), True
        behind = step["lost"] or step["achieved_rate"] < 0.95 * rate
        if failed and (not plan.get("through") or behind or step["generator_cpu"] >= SATURATED_CPU):
            break
        if not failed:
            best = step["achieved_rate"]
        await asyncio.sleep(plan.get("pause_s", 0.5))
    if plan.get("timers"):
        # Phase E: its own step at the timer rate, so the ladder above measures messages alone.
        await asyncio.sleep(plan.get("pause_s", 0.5))
        timers = await arm_timers(world, plan["timers"], plan["timer_step_s"])
        step = await run_step(
            world,
            plan["timers"]["at_rate"],
            plan["timer_step_s"],
            plan["agent_share"],
            plan["drain_s"],
        )
        step["with_timers"] = True
        print(
            f"  E: timers during {step['rate']} msg/s: {step_line(step)}",
            file=sys.stderr,
            flush=True,
        )
        steps.append(step)
    result: dict[str, Any] = {"steps": steps, "max_sustained_rate": best, "stopped_by": stop_reason}
    if timers is not None:
        result["timers"] = await timer_outcome(world, timers)
    return result


def reason(step: dict[str, Any]) -> str:
    if step["generator_saturated"]:
        if step["generator_cpu"] >= SATURATED_CPU:
            return f"generator saturated ({step['generator_cpu']:.0%} CPU)"
        # Late without being busy: something else had its core (a shared machine).
        return f"generator starved (sent p99 {step['send_lag_p99_ms']} ms late)"
    if step["lost"]:
        return f"{step['lost']} messages lost"
    if step["errors"]:
        return f"{step['errors']} error frames"
    p99 = step["latency"]["p99_ms"]
    if p99 is None or p99 > 20:
        return f"p99 {p99} ms > 20 ms"
    return f"achieved {step['achieved_rate']} < 95 % of {step['rate']}"


def step_line(step: dict[str, Any]) -> str:
    lat = step["latency"]
    return (
        f"got {step['achieved_rate']:.0f}/s p50 {lat['p50_ms']} p99 {lat['p99_ms']} ms"
        f" lost {step['lost']} gen {step['generator_cpu']:.0%} srv {step['server_cpu']:.0%}"
        f" {step['server_cpu_us_per_msg']} us/msg {'ok' if step['passed'] else 'STOP'}"
    )


async def arm_timers(world: World, spec: dict[str, Any], step_s: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {world.admin_token}"}
    t0 = now()
    async with httpx.AsyncClient(base_url=world.base, headers=headers, timeout=120) as http:
        response = await http.post(
            "/bench/timers",
            json={
                "count": spec["count"],
                "first_s": spec["first_s"],
                "last_s": step_s - spec["last_before_end_s"],
            },
        )
        response.raise_for_status()
    return {"count": spec["count"], "arm_s": round(now() - t0, 2)}


async def timer_outcome(world: World, armed: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=world.base, timeout=30) as http:
        deadline = now() + 60
        while True:
            stats = (await http.get("/bench/timers")).json()
            if stats["fired_keys"] >= stats["armed"] or now() > deadline:
                break
            await asyncio.sleep(0.5)
    late = [ms / 1000 for ms in stats.pop("lateness_ms")]
    return {**armed, **stats, "lateness": summary_ms(late)}


async def phase_d(world: World, count: int, deflate: bool, concurrency: int) -> dict[str, Any]:
    """Idle connections: server memory before and after opening ``count`` sockets."""
    tokens = world.tokens
    peers: list[Peer] = []
    negotiated = 0

    def ignore(_peer: Peer, _text: str) -> None:
        pass

    async def one(i: int) -> None:
        nonlocal negotiated
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_text(peer: Peer, text: str) -> None:
            if not ready.done() and '"type":"ready"' in text:
                ready.set_result(None)

        peer = await connect(world.ws + "/ws/customer", on_text, deflate=deflate)
        if tokens:
            peer.send(
                {"type": "hello", "resume": {"token": tokens[i % len(tokens)], "last_seq": 10**9}}
            )
        else:
            peer.send({"type": "hello"})
        await asyncio.wait_for(ready, 60)
        negotiated += peer.deflate_negotiated
        peer.on_text = ignore
        peers.append(peer)

    async def opened(n: int, offset: int) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def guarded(i: int) -> None:
            async with gate:
                await one(i)

        await asyncio.gather(*(guarded(offset + i) for i in range(n)))

    warm = min(200, count // 10)
    await opened(warm, 0)
    negotiated = 0
    await asyncio.sleep(1.0)
    before = rss_bytes(world.server_pid)
    t0 = now()
    await opened(count, warm)
    open_s = now() - t0
    await asyncio.sleep(2.0)
    after = rss_bytes(world.server_pid)
    for peer in peers:
        peer.close()
    await asyncio.sleep(1.0)
    return {
        "connections": count,
        "deflate_offered": deflate,
        "deflate_negotiated": negotiated,
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "bytes_per_connection": round((after - before) / count),
        "open_s": round(open_s, 2),
    }


async def settle(world: World, wait_s: float) -> dict[str, int]:
    """After the last step: wait for stragglers, then count what never came back."""
    deadline = now() + wait_s
    while now() < deadline and not all(r.acked and r.delivered for r in world.sent.values()):
        await asyncio.sleep(0.1)
    return {
        "sent": len(world.sent),
        "never_acked": sum(1 for r in world.sent.values() if not r.acked),
        "never_delivered": sum(1 for r in world.sent.values() if not r.delivered),
    }


async def main_async(plan: dict[str, Any]) -> dict[str, Any]:
    world = World(plan["base"], plan["kind"], plan.get("admin_token", ""), plan["server_pid"])
    world.bases = plan.get("bases", [])
    world.server_pids = plan.get("server_pids", [])
    out: dict[str, Any] = {}
    phases = plan["phases"]
    if "D" in phases:
        if plan.get("tokens_file"):
            with open(plan["tokens_file"]) as f:
                world.tokens = json.load(f)
        out["D"] = await phase_d(world, plan["idle"], plan["deflate"], plan["concurrency"])
        return out
    await connect_agents(world, plan["agents"], plan["capacity"])
    print(f"  A: connect storm, {plan['chats']} chats", file=sys.stderr, flush=True)
    out["A"] = await phase_a(world, plan["chats"], plan["storm_per_s"])
    if plan.get("tokens_file"):
        with open(plan["tokens_file"], "w") as f:
            json.dump([c.token for c in world.customers], f)
    print(f"  A: welcome {out['A']['welcome']}", file=sys.stderr, flush=True)
    if phases == "A":  # the storm alone (python -m bench.run storm)
        for peer in world.customers + world.agents:
            peer.close()
        await asyncio.sleep(0.5)
        return out
    out["B"] = await phase_b(world, plan["unloaded"])
    print(f"  B: latency {out['B']['latency']}", file=sys.stderr, flush=True)
    out["C"] = await phase_c(world, plan["ladder"])
    out["final"] = await settle(world, 10.0)
    async with httpx.AsyncClient(base_url=world.base, timeout=30) as http:
        out["server_gc"] = (await http.get("/bench/gc")).json()
    acked = [(r.chat_id, r.seq, cid) for cid, r in world.sent.items() if r.acked]
    out["acked"] = len(acked)
    out["sent"] = len(world.sent)
    out["errors_sample"] = world.errors[:5]
    if plan.get("acked_file"):
        with open(plan["acked_file"], "w") as f:
            json.dump(acked, f)
    for peer in world.customers + world.agents:
        peer.close()
    await asyncio.sleep(0.5)
    return out


def main() -> None:
    plan_path, out_path = sys.argv[1], sys.argv[2]
    with open(plan_path) as f:
        plan = json.load(f)
    try:
        import uvloop

        result = uvloop.run(main_async(plan))
    except ImportError:
        result = asyncio.run(main_async(plan))
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()

"""How fast the assistant answers, with the action server and the knowledge store in the loop.

Usage: python -m bench.speed --out results/bench [--model models/assistant.tar.gz] [--smoke]
                             [--plan full|compare|smoke] [--name speed]

It starts the action server and one Rasa server on loopback (as `make serve` does, plus Rasa's
HTTP API for `/model/parse`), and measures:

- start-up: the action server until healthy, the Rasa server until its first answer;
- the floor: `/model/parse` (understanding a message, nothing else), one at a time;
- whole turns over the REST channel at 1, 8 and 32 conversations at once: p50, p95, p99 and
  messages per second; and the ratio of a turn's p50 to a parse's p50 at 1 conversation;
- the same 32 conversations shared by two Rasa servers (one per core), each conversation kept on
  one server as the production proxy keeps a client on one (each server here holds its own
  conversations in memory, as the embedded default does);
- one long conversation (`Plan.long_conversation_turns` questions, one after another): the median
  turn around turn 10 and around its last turn, and meanwhile another patient's median turn,
  against that patient's alone: a turn's cost must not grow with the conversation's length;
- the knowledge lookup alone (composing an answer from the store, in this process);
- the peak memory (RSS) of the Rasa server and of the action server;
- whether the Rasa server loaded TensorFlow, and what importing it costs on its own.

Every level is bounded in messages and in seconds, so a slow machine makes it shorter, not
endless. The messages are the held-out questions in tests/nlu/, written as patients write.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from tests.live_bot import LiveBot

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = PROJECT_ROOT / "tests" / "nlu" / "patients.yml"
DEFAULT_MODEL = PROJECT_ROOT / "models" / "assistant.tar.gz"


@dataclass(frozen=True)
class Plan:
    """How much to measure: bounded in messages and in seconds at every level."""

    concurrency_levels: tuple[int, ...] = (1, 8, 32)
    turns_per_level: int = 300
    questions_per_conversation: int = 8
    seconds_per_level: float = 45.0
    parses: int = 300
    lookups: int = 2000
    long_conversation_turns: int = 400  # 0: no long conversation
    two_server_levels: tuple[int, ...] = (32,)  # conversations at once across two Rasa servers


FULL = Plan()
# For the configurations the report compares with this one: the levels the targets are set at.
COMPARE = Plan(concurrency_levels=(1, 32), parses=200, lookups=200, long_conversation_turns=0)
SMOKE = Plan(
    concurrency_levels=(1, 4), turns_per_level=12, seconds_per_level=20.0, parses=10, lookups=50,
    long_conversation_turns=30, two_server_levels=(4,),
)  # fmt: skip
PLANS = {"full": FULL, "compare": COMPARE, "smoke": SMOKE}
# The turns compared in a long conversation: the median of the ten around each end.
EARLY_TURNS = slice(5, 15)
LATE_TURNS = slice(-10, None)


@dataclass
class Latencies:
    """Seconds per request, and how long the whole level took."""

    seconds: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    failures: int = 0

    def summary(self) -> dict[str, float | int]:
        ordered = sorted(self.seconds)
        return {
            "requests": len(ordered),
            "failures": self.failures,
            "p50_ms": percentile(ordered, 50) * 1000,
            "p95_ms": percentile(ordered, 95) * 1000,
            "p99_ms": percentile(ordered, 99) * 1000,
            "mean_ms": statistics.fmean(ordered) * 1000 if ordered else float("nan"),
            "per_second": len(ordered) / self.wall_seconds if self.wall_seconds else float("nan"),
        }


def percentile(ordered: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile of sorted values (NaN for none): no interpolation to flatter."""
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * percent // 100))  # ceil, at least the first
    return ordered[int(rank) - 1]


def patient_messages() -> list[str]:
    """The held-out patients' questions (never in the training data), as they were typed: read by
    Rasa's own loader, which drops entity annotations of every form."""
    from rasa.shared.nlu.training_data.loading import load_data

    messages = [example.get("text") for example in load_data(str(HELD_OUT)).intent_examples]
    if not messages:
        raise SystemExit(f"No messages found in {HELD_OUT}")
    return messages


async def post_json(session: Any, url: str, body: dict) -> Any:
    async with session.post(url, json=body) as response:
        response.raise_for_status()
        return await response.json()


async def parse_latencies(base_url: str, messages: list[str], count: int) -> Latencies:
    """`/model/parse`, one message at a time: what understanding a message costs on its own."""
    import aiohttp

    found = Latencies()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        started = time.perf_counter()
        for text in itertools.islice(itertools.cycle(messages), count):
            before = time.perf_counter()
            try:
                await post_json(session, f"{base_url}/model/parse", {"text": text})
                found.seconds.append(time.perf_counter() - before)
            except Exception:  # noqa: BLE001 (counted, and reported)
                found.failures += 1
        found.wall_seconds = time.perf_counter() - started
    return found


async def turn_latencies(
    rest_urls: Sequence[str], messages: list[str], conversations: int, plan: Plan
) -> Latencies:
    """`conversations` patients at once, each asking one question after another over REST, patient
    n always to server n modulo the number of servers.

    A visit is a hello (not timed: it carries the opening notice), then a few questions, each
    timed from sending it to having the whole answer; then the patient starts a new visit. Rasa's
    cost per turn grows with the conversation's length, so endless conversations would measure
    something no patient does.
    """
    import aiohttp

    found = Latencies()
    budget = itertools.count()
    deadline = time.perf_counter() + plan.seconds_per_level
    questions = itertools.cycle(messages)
    connector = aiohttp.TCPConnector(limit=conversations)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=120)
    ) as session:

        async def patient(number: int) -> None:
            rest_url = rest_urls[number % len(rest_urls)]
            for visit in itertools.count():
                sender = f"bench-{conversations}-{number}-{visit}-{os.getpid()}"
                if not await conversation(rest_url, sender):
                    return

        async def conversation(rest_url: str, sender: str) -> bool:
            """One visit of `plan.questions_per_conversation` questions; False once the budget is spent."""
            await post_json(session, rest_url, {"sender": sender, "message": "hello"})
            for _ in range(plan.questions_per_conversation):
                if next(budget) >= plan.turns_per_level or time.perf_counter() > deadline:
                    return False
                before = time.perf_counter()
                try:
                    answer = await post_json(
                        session, rest_url, {"sender": sender, "message": next(questions)}
                    )
                    if not answer:
                        raise ValueError("empty answer")
                    found.seconds.append(time.perf_counter() - before)
                except Exception:  # noqa: BLE001
                    found.failures += 1
            return True

        started = time.perf_counter()
        await asyncio.gather(*(patient(number) for number in range(conversations)))
        found.wall_seconds = time.perf_counter() - started
    return found


def long_conversation_script(messages: list[str], turns: int) -> list[str]:
    """The long conversation's questions: the patients' questions in turn, except that the last ten
    turns ask again what turns 6 to 15 asked. The two ends then differ only in where they fall in
    the conversation, not in which questions (some answers take much longer to compose)."""
    script = list(itertools.islice(itertools.cycle(messages), turns))
    script[LATE_TURNS] = script[EARLY_TURNS]
    return script


async def long_conversation(rest_url: str, messages: list[str], turns: int) -> dict[str, float]:
    """One patient asking `turns` questions in one conversation, while another patient asks short
    visits of questions; then the other patient alone, as long again. Medians in ms."""
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def ask(sender: str, text: str) -> float:
            before = time.perf_counter()
            await post_json(session, rest_url, {"sender": sender, "message": text})
            return time.perf_counter() - before

        long_turns: list[float] = []
        done = asyncio.Event()

        async def long_patient() -> None:
            sender = f"bench-long-{os.getpid()}"
            for text in long_conversation_script(messages, turns):
                long_turns.append(await ask(sender, text))
            done.set()

        async def other_patient(until: asyncio.Event | None, count: int = 0) -> list[float]:
            seconds: list[float] = []
            for visit in itertools.count():
                sender = f"bench-other-{os.getpid()}-{id(until)}-{visit}"
                for text in itertools.islice(itertools.cycle(messages), 5):
                    if (until is not None and until.is_set()) or (until is None and len(seconds) >= count):
                        return seconds
                    seconds.append(await ask(sender, text))
            return seconds

        meanwhile, _ = await asyncio.gather(other_patient(done), long_patient())
        alone = await other_patient(None, count=len(meanwhile))
    return {
        "turns": turns,
        "early_p50_ms": statistics.median(long_turns[EARLY_TURNS]) * 1000,
        "late_p50_ms": statistics.median(long_turns[LATE_TURNS]) * 1000,
        "other_patient_meanwhile_p50_ms": statistics.median(meanwhile) * 1000,
        "other_patient_alone_p50_ms": statistics.median(alone) * 1000,
    }


def lookup_latencies(count: int) -> Latencies:
    """Composing an answer from the knowledge store alone, as the action does, in this process."""
    from sqlalchemy import select

    from actions.answers import DESIGN_COMPOSERS, compose_answer
    from actions.models import Treatment
    from actions.store import KnowledgeStore

    with KnowledgeStore.open() as store:
        trial = store.trial()
        treatments = [None, *store.session.execute(select(Treatment).order_by(Treatment.key)).scalars()]
        cases = [
            (topic, t) for topic in sorted(set(DESIGN_COMPOSERS) | store.topics(trial)) for t in treatments
        ]
    found = Latencies()
    started = time.perf_counter()
    for topic, treatment in itertools.islice(itertools.cycle(cases), count):
        before = time.perf_counter()
        # One session per answer, as each action opens; the question's words are searched for other
        # trials' names, as a patient's are.
        question = f"what about {topic.replace('_', ' ')} on {treatment.name if treatment else 'it'}"
        with KnowledgeStore.open() as store:
            compose_answer(
                store, topic, store.find_treatment(treatment.name) if treatment else None, question
            )
        found.seconds.append(time.perf_counter() - before)
    found.wall_seconds = time.perf_counter() - started
    return found


def peak_memory_mb(pid: int) -> float:
    """The highest resident memory (VmHWM) of a process and its children, in MiB."""
    total_kb = 0
    for candidate in [pid, *children_of(pid)]:
        try:
            status = Path(f"/proc/{candidate}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def loads_tensorflow(pid: int) -> bool:
    """Whether TensorFlow's library is mapped into the process: imported, whoever imported it."""
    return "libtensorflow" in Path(f"/proc/{pid}/maps").read_text()


def tensorflow_import_cost() -> dict[str, float]:
    """Seconds and peak MiB that `import tensorflow` adds to a bare Python of this environment."""
    # VmHWM, not getrusage's ru_maxrss, which Linux carries over from the parent across exec.
    probe = (
        "import sys, time; started = time.perf_counter(); {}; seconds = time.perf_counter() - started; "
        "print(seconds, next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))"
    )

    def run(statement: str) -> tuple[float, float]:
        out = subprocess.run(
            [sys.executable, "-c", probe.format(statement)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        ).stdout.split()
        return float(out[0]), float(out[1]) / 1024

    bare_seconds, bare_mb = run("pass")
    seconds, mb = run("import tensorflow")
    return {"import_seconds": seconds - bare_seconds, "memory_mb": mb - bare_mb}


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            child = int(stat.parent.name)
            found.extend([child, *children_of(child)])
    return found


def turn_levels(
    rest_urls: list[str], messages: list[str], levels: Sequence[int], plan: Plan, where: str = ""
) -> dict[str, dict[str, Any]]:
    """Whole turns at each number of conversations at once, with every sample kept for the plots."""
    found = {}
    for conversations in levels:
        measured = asyncio.run(turn_latencies(rest_urls, messages, conversations, plan))
        level = found[str(conversations)] = {
            **measured.summary(),
            "samples_ms": [s * 1000 for s in measured.seconds],
        }
        print(f"  {conversations:>2} at once{' ' + where if where else ''}: {level['p50_ms']:.0f} ms p50, "
              f"{level['per_second']:.1f} messages/s", flush=True)  # fmt: skip
    return found


def first_answer_seconds(bot: LiveBot, started: float, process: Any, timeout: float = 300) -> float:
    """Seconds from starting the Rasa server until it answers a real question."""
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError("the Rasa server stopped while starting")
        try:
            if bot.say("bench-start-up", "how many people relapsed on alemtuzumab?"):
                return time.perf_counter() - started
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no answer within {timeout} s of starting")


def measure(model: Path, plan: Plan, workdir: Path) -> dict[str, Any]:
    from actions.database import database_url
    from tests.live_bot import action_server, rasa_server

    messages = patient_messages()
    actions, action_url = action_server(database_url(), workdir)
    # The server's rate limits are for patients: here one client sends hundreds a second on purpose.
    rasa, bot = rasa_server(
        workdir,
        action_url,
        model=model,
        extra_arguments=("--enable-api",),
        environment={"RATE_LIMITS": "off"},
    )
    second, second_bot = rasa_server(
        workdir, action_url, name="rasa-2", model=model, environment={"RATE_LIMITS": "off"}
    )
    results: dict[str, Any] = {
        "model": str(model.relative_to(PROJECT_ROOT) if model.is_relative_to(PROJECT_ROOT) else model)
    }
    try:
        began = time.perf_counter()
        actions.start().wait()
        results["action_server_start_seconds"] = time.perf_counter() - began
        began = time.perf_counter()
        rasa.start()
        assert rasa.process is not None
        results["rasa_start_to_first_answer_seconds"] = first_answer_seconds(bot, began, rasa.process)

        results["parse"] = asyncio.run(parse_latencies(bot.base_url, messages, plan.parses)).summary()
        results["turns"] = turn_levels([bot.url], messages, plan.concurrency_levels, plan)
        if plan.long_conversation_turns:
            results["long_conversation"] = asyncio.run(
                long_conversation(bot.url, messages, plan.long_conversation_turns)
            )
            long = results["long_conversation"]
            print(f"  a {long['turns']}-turn conversation: {long['early_p50_ms']:.0f} ms near the start, "
                  f"{long['late_p50_ms']:.0f} ms at the end", flush=True)  # fmt: skip
        if plan.two_server_levels:
            second.start()
            second.wait()
            results["turns_two_servers"] = turn_levels(
                [bot.url, second_bot.url], messages, plan.two_server_levels, plan, "on two servers"
            )
        results["lookup"] = lookup_latencies(plan.lookups).summary()
        assert actions.process is not None
        results["tensorflow_loaded"] = loads_tensorflow(rasa.process.pid)
        results["peak_memory_mb"] = {
            "rasa_server": peak_memory_mb(rasa.process.pid),
            "action_server": peak_memory_mb(actions.process.pid),
        }
    finally:
        second.stop()
        rasa.stop()
        actions.stop()
    one = results["turns"][str(plan.concurrency_levels[0])]
    results["turn_to_parse_ratio_p50"] = one["p50_ms"] / results["parse"]["p50_ms"]
    results["turn_to_parse_and_lookup_ratio_p50"] = one["p50_ms"] / (
        results["parse"]["p50_ms"] + results["lookup"]["p50_ms"]
    )
    if results["tensorflow_loaded"]:
        results["tensorflow_import"] = tensorflow_import_cost()
    results["plan"] = asdict(plan)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "results" / "bench")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--smoke", action="store_true", help="a few messages only, for the test suite")
    parser.add_argument("--plan", choices=sorted(PLANS), help="how much to measure (default: full)")
    parser.add_argument("--name", default="speed", help="the figures go to NAME.json in --out")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    plan = PLANS[args.plan or ("smoke" if args.smoke else "full")]
    print(f"==> Speed: {plan.concurrency_levels} conversations at once, model {args.model}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as workdir:
        results = measure(args.model.resolve(), plan, Path(workdir))
    results["smoke"] = plan == SMOKE
    (args.out / f"{args.name}.json").write_text(json.dumps(results, indent=1))
    print(
        f"Parse p50 {results['parse']['p50_ms']:.0f} ms; turn p50 at 1 conversation "
        f"{results['turns'][str(plan.concurrency_levels[0])]['p50_ms']:.0f} ms "
        f"(x{results['turn_to_parse_ratio_p50']:.2f} a parse); "
        f"lookup p50 {results['lookup']['p50_ms']:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""End-to-end latency and throughput of POST /v1/suggest against the real HTTP server.

For each knowledge-base size (--sizes, total entries as `assist kb validate` counts them):

1. generate a synthetic KB (benchmarks/synth_kb.py) into a temporary folder and validate it;
2. start `python -m assist serve --port <free port>` as a subprocess with
   ASSIST_PATHS__KNOWLEDGE_DIR / ASSIST_PATHS__INDEX_DIR pointing to temporary folders (so the
   index is built in memory at start-up) and wait for GET /readyz (start-up time);
3. warm up, then measure over 127.0.0.1 with httpx:
   a. sequential, one client: --requests requests cycling through ~200 request bodies;
   b. throughput with N concurrent clients (--concurrency, threads, one connection each) over
      --concurrent-requests requests;
   c. the server's own `timings_ms` (parse / classify / retrieve / rank) from every response;
4. record the server's RSS (VmRSS, and VmHWM: the peak) from /proc/<pid>/status, and what
   the interaction log wrote; then the same sequential run on a server with the log off
   (ASSIST_LOG_INTERACTIONS=false): the log's cost;
5. optionally (default on) build the index with `assist index build`, restart, and record the
   start-up time and RSS when the server loads a saved index instead of building one.

The server is always stopped (also on error or Ctrl-C). Client and server share the machine:
on 2 cores the client's own CPU use (httpx, JSON) is part of every number, as it is for a
workbench plug-in on the same host. Results: a table on stdout and --report (JSON).

    python benchmarks/latency.py --sizes 1000 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth_kb  # a sibling script, not a package: imported after the sys.path entry above

REPO = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = secrets.token_urlsafe(24)  # /readyz shows versions and knowledge size to the admin
DEFAULT_REPORT = REPO / "benchmarks" / "reports" / "latency.json"
STAGES = ("parse", "classify", "retrieve", "rank")
TARGETS = {"p50_ms": 10.0, "p99_ms": 30.0, "classify_p50_ms": 2.0}
HOST = "127.0.0.1"  # loopback only, on purpose

# --- request bodies ---------------------------------------------------------------------------

# Written for this benchmark in shopper style, not copied from the KB: colloquial, typos,
# 繁体, full-width, emoji, order and tracking numbers, SKUs of the demo catalogue.
HANDWRITTEN: tuple[str, ...] = (
    "在吗", "有人吗 问个事", "你好 想问下那个羽绒服还有货没", "亲，AP-1001米白什么时候补货啊",
    "165 52kg 羽绒服拿S还是M", "我180 75公斤 男款羽绒服穿什么码", "牛仔裤偏大还是偏小啊 平时穿27",
    "这个电饭煲几个人用合适", "HA-2002内胆是什么材质的", "空气炸锅能烤红薯吗", "吹风机有负离子吗 伤不伤头发",
    "加湿器声音大不大 放卧室的", "暖风机可以挂墙上吗 要不要钱", "破壁机打豆浆要过滤吗", "除螨仪对床垫有用吗",
    "能便宜点不 买两件", "老板再少20呗 诚心要", "有没有优惠券啊 满多少减多少", "双11会不会更便宜 现在买亏不亏",
    "是正品吗 别是高仿哈", "你们是官方旗舰店吗", "几点前下单当天发", "发什么快递 能发顺丰吗",
    "新疆包邮吗", "能用花呗分期吗", "信用卡付不了怎么回事", "我的快递到哪了", "怎么还没发货 都三天了",
    "物流三天没动了 是不是丢了", "地址填错了 能改吗", "我想改个收货地址 还没发货吧", "拍错颜色了 能帮我改成黑色吗",
    "不想要了 取消订单", "拍多了一件 能取消一件吗", "衣服不合适 怎么退", "退货运费谁出啊", "吊牌剪了还能退吗",
    "退款什么时候到账", "退款申请了两天了还没处理", "收到的颜色不对 我买的藏青发成黑色了", "少发了一条裤子",
    "衣服开线了 怎么处理", "羽绒服钻绒厉害 正常吗", "电饭煲用了一个月不加热了", "吹风机有焦味 还能用吗",
    "电水壶漏水 保修吗", "保修多久 要发票吗", "能开发票吗 公司报销用", "专票怎么开", "我要投诉 你们客服态度太差了",
    "再不处理我就给差评", "你们这是虚假宣传", "转人工", "叫个真人来", "谢谢亲 服务很好", "衣服收到了 很喜欢 好评",
    "你们店在哪个城市", "可以定制logo吗", "有没有实体店", "上次买的衣服洗了缩水了", "价保怎么申请 买完就降价了",
    "运费险怎么赔", "赠品怎么没有", "可以送货上门吗", "晚上几点下班啊 客服", "羽绒服能机洗吗",
)

ORDER_TEMPLATES: tuple[str, ...] = (
    "订单{order}怎么还没发货", "亲 帮我查下{order}到哪了", "{order} 这单能取消吗", "我的订单号{order}，申请退款了多久到账",
    "订单{order}收到的货少了一件", "单号{tracking}三天没更新了", "快递{tracking}显示签收了但是我没收到😡",
    "帮我看看{order} 地址能不能改成公司的", "{order}这单我要开发票 抬头是公司", "订单号：{order_fw} 退货寄回了 单号{tracking}",
    "在吗 订单{order}的电饭煲坏了 要保修", "我手机号{phone} 订单{order} 帮我催一下", "{order} 发错货了 我要的是M码",
    "訂單{order}甚麼時候發貨", "{order}这个单子退款被拒绝了 为什么",
)

LONG_PARTS: tuple[str, ...] = (
    "亲你好，我上周在你们店买了一件羽绒服，", "本来是打算送给我妈妈当生日礼物的，", "结果收到以后发现袖口那里有一点开线，",
    "而且颜色和详情页上的图片差别有点大，看起来更偏灰一些，", "我妈妈试穿了一下觉得尺码也稍微有点小，",
    "我想问一下现在是可以直接换一个大一码的吗，", "还是需要先退货再重新下单呢，", "如果要寄回的话运费是谁来出，",
    "我这边比较着急因为下周就要出门了，", "另外我还看中了你们家的电饭煲，想一起买，", "不知道现在有没有什么优惠活动可以叠加，",
    "之前客服说可以给我申请一个小礼物，不知道还作数吗，", "麻烦尽快帮我处理一下，谢谢！", "订单号我一会儿发你，",
    "我已经拍了照片，需要的话我可以发给你看看，", "上次买的东西质量都挺好的，所以才又来你们家，", "希望这次也能顺利解决🙏",
)

EXTRA_PREFIXES = ("", "", "亲 ", "在吗 ", "你好，", "请问", "老板 ")
EXTRA_SUFFIXES = ("", "", "？", "??", "😂", "🙏", " 急", "～", "！！")


def _perturb(rng: random.Random, text: str) -> str:
    """A held-out version of a KB phrasing: what a shopper adds around the same question."""
    return f"{rng.choice(EXTRA_PREFIXES)}{text}{rng.choice(EXTRA_SUFFIXES)}"


def _demo_phrasings(source: Path) -> list[str]:
    out: list[str] = []
    for path in sorted((source / "faq").glob("*.yaml")):
        if path.name == "generated.yaml":
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for f in doc.get("faqs") or []:
            out.extend([f["question"], *f.get("paraphrases", [])])
    return out


def build_bodies(seed: int, source: Path, count: int = 200) -> list[dict[str, Any]]:
    """~200 varied /v1/suggest bodies, the same for every KB size (deterministic).

    Generated-product messages come from the first 400 generated FAQs, which every KB of 1000+
    entries contains (the generator's output for a smaller size is a prefix of a larger one)."""
    import opencc  # a dependency of assist; used to write some messages in 繁体

    rng = random.Random(f"bodies-{seed}")
    s2t = opencc.OpenCC("s2t")
    msgs: list[str] = list(HANDWRITTEN)
    demo = _demo_phrasings(source)
    msgs += [_perturb(rng, t) for t in rng.sample(demo, min(40, len(demo)))]
    generated = synth_kb.generate_faqs(400, seed=seed)
    for f in rng.sample(generated, 40):
        msgs.append(_perturb(rng, rng.choice(f["paraphrases"])))  # type: ignore[arg-type]
    for _ in range(30):
        order = f"{rng.randrange(2, 5)}{rng.randrange(10**17):017d}"
        msgs.append(rng.choice(ORDER_TEMPLATES).format(
            order=order, order_fw=order.translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)}),
            tracking=f"SF{rng.randrange(10**12, 10**13)}", phone=f"138****{rng.randrange(10**4):04d}"))
    for _ in range(10):
        parts = rng.sample(LONG_PARTS, rng.randint(6, len(LONG_PARTS)))
        msgs.append("".join(parts) * rng.choice((1, 1, 2)))  # ~150-700 characters
    while len(msgs) < count:
        msgs.append(s2t.convert(rng.choice(HANDWRITTEN)))
    msgs = msgs[:count]
    rng.shuffle(msgs)

    bodies: list[dict[str, Any]] = []
    for text in msgs:
        body: dict[str, Any] = {"message": text, "history": [], "order": None, "top_k": rng.choice((3, 3, 3, 5))}
        if rng.random() < 0.3:  # a conversation in progress: 1-4 earlier turns
            turns = rng.randint(1, 4)
            body["history"] = [
                {"role": "customer" if i % 2 == 0 else "agent",
                 "text": rng.choice(HANDWRITTEN) if i % 2 == 0 else "亲，您好～ 请问有什么可以帮您？"}
                for i in range(turns)
            ]
        if rng.random() < 0.15:  # the workbench knows the order
            body["order"] = {"order_id": f"{rng.randrange(10**17, 10**18)}", "status": rng.choice(("paid", "shipped")),
                             "sku": rng.choice(("AP-1001", "HA-2001", "HA-2003")), "courier": "顺丰"}
        bodies.append(body)
    return bodies


# --- statistics -------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in 0..100."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50_ms": round(percentile(values, 50), 3), "p90_ms": round(percentile(values, 90), 3),
            "p99_ms": round(percentile(values, 99), 3), "mean_ms": round(statistics.fmean(values), 3),
            "max_ms": round(max(values), 3)}


@dataclass
class Samples:
    latencies_ms: list[float] = field(default_factory=list)
    timings: list[dict[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def add(self, latency_ms: float, response: httpx.Response) -> None:
        if response.status_code != 200:
            self.errors.append(f"{response.status_code}: {response.text[:200]}")
            return
        self.latencies_ms.append(latency_ms)
        self.timings.append(response.json()["timings_ms"])

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {"latency": summarize(self.latencies_ms), "errors": len(self.errors),
                               "error_samples": self.errors[:3]}
        if self.wall_s:
            out["wall_s"] = round(self.wall_s, 3)
            out["throughput_rps"] = round(len(self.latencies_ms) / self.wall_s, 1)
        stages = {s: summarize([t.get(s, 0.0) for t in self.timings]) for s in STAGES}
        server = [sum(t.get(s, 0.0) for s in STAGES) for t in self.timings]
        stages["server_stages_total"] = summarize(server)
        # Everything the stage timers do not cover: HTTP, request validation, normalization,
        # entity extraction, response building and logging, and the client itself.
        stages["outside_stages"] = summarize([lat - srv for lat, srv in zip(self.latencies_ms, server, strict=True)])
        out["stages"] = stages
        return out


# --- the server -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def proc_memory(pid: int) -> dict[str, float]:
    """Resident memory now and at peak (MiB), from /proc/<pid>/status."""
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[{"VmRSS": "rss_mib", "VmHWM": "peak_rss_mib"}[key]] = round(int(value.split()[0]) / 1024, 1)
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    startup_s: float
    ready: dict[str, Any]


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@contextmanager
def running_server(knowledge: Path, index_dir: Path, log_path: Path, timeout_s: float,
                   extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """`assist serve` on a free loopback port; yields once /readyz says 200, always stops it."""
    port = free_port()
    env = {**os.environ, "ASSIST_PATHS__KNOWLEDGE_DIR": str(knowledge), "ASSIST_PATHS__INDEX_DIR": str(index_dir),
           "ASSIST_PATHS__DATA_DIR": str(index_dir.parent / "data"), "ASSIST_HOST": HOST,
           "ASSIST_ADMIN_TOKEN": ADMIN_TOKEN, **(extra_env or {})}
    base_url = f"http://{HOST}:{port}"
    with open(log_path, "wb") as log:
        t0 = time.perf_counter()
        # Own session: a Ctrl-C in the terminal reaches only us, and we stop the server in order.
        proc = subprocess.Popen([sys.executable, "-m", "assist", "serve", "--host", HOST, "--port", str(port)],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ready = _wait_ready(proc, base_url, log_path, timeout_s)
        yield Server(proc=proc, base_url=base_url, log_path=log_path, startup_s=time.perf_counter() - t0, ready=ready)
    finally:
        stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout_s: float) -> dict[str, Any]:
    # The port opens at once; /readyz says 503 (Retry-After) until the app has loaded.
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=base_url, timeout=5.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode} during start-up:\n{_log_tail(log_path)}")
            try:
                r = client.get("/readyz", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
                if r.status_code == 200:
                    return r.json()  # type: ignore[no-any-return]
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise TimeoutError(f"server not ready after {timeout_s:.0f}s:\n{_log_tail(log_path)}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (uvicorn's graceful shutdown), then SIGTERM, then SIGKILL; only our own process."""
    for sig, wait_s in ((signal.SIGINT, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue


# --- load -------------------------------------------------------------------------------------

def run_sequential(base_url: str, bodies: Sequence[dict[str, Any]], n: int, offset: int = 0) -> Samples:
    samples = Samples()
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        t0 = time.perf_counter()
        for i in range(n):
            body = bodies[(offset + i) % len(bodies)]
            start = time.perf_counter()
            r = client.post("/v1/suggest", json=body)
            samples.add((time.perf_counter() - start) * 1000, r)
        samples.wall_s = time.perf_counter() - t0
    return samples


def run_concurrent(base_url: str, bodies: Sequence[dict[str, Any]], total: int, clients: int) -> Samples:
    """`clients` threads, one keep-alive connection each, sharing `total` requests."""
    samples = Samples()
    lock = threading.Lock()
    counter = iter(range(total))
    start_line = threading.Barrier(clients + 1)

    def worker() -> None:
        with httpx.Client(base_url=base_url, timeout=60.0) as client:
            client.get("/healthz")  # open the connection before the clock starts
            start_line.wait()
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                start = time.perf_counter()
                r = client.post("/v1/suggest", json=bodies[i % len(bodies)])
                latency = (time.perf_counter() - start) * 1000
                with lock:
                    samples.add(latency, r)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    start_line.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    samples.wall_s = time.perf_counter() - t0
    return samples


# --- one KB size ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Options:
    requests: int
    warmup: int
    concurrency: tuple[int, ...]
    concurrent_requests: int
    seed: int
    source: Path
    startup_timeout_s: float
    saved_index: bool
    keep: bool


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - t0, done.stdout.strip().splitlines()[-1]


def bench_size(size: int, bodies: list[dict[str, Any]], opts: Options) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"xiaoer-latency-{size}-"))
    result: dict[str, Any] = {"entries": size, "workdir": str(work) if opts.keep else None}
    try:
        kb, index_dir = work / "knowledge", work / "index"
        index_dir.mkdir()
        t0 = time.perf_counter()
        synth_kb.build(size, kb, seed=opts.seed, source=opts.source)
        result["generate_s"] = round(time.perf_counter() - t0, 2)
        env = dict(os.environ)
        validate_s, validate_out = _timed([sys.executable, "-m", "assist", "kb", "validate", "--knowledge", str(kb)], env)
        result["validate_s"] = round(validate_s, 2)  # process start + imports + loading and checking the KB
        result["validate"] = validate_out
        print(f"[{size}] {validate_out}", flush=True)

        with running_server(kb, index_dir, work / "server.log", opts.startup_timeout_s) as srv:
            pid = srv.proc.pid
            result["startup_s"] = round(srv.startup_s, 2)  # index built in memory
            result["knowledge"] = srv.ready.get("knowledge")
            result["versions"] = srv.ready.get("versions")
            result["memory_ready"] = proc_memory(pid)
            print(f"[{size}] ready in {srv.startup_s:.1f}s, RSS {result['memory_ready'].get('rss_mib')} MiB", flush=True)

            warm = run_sequential(srv.base_url, bodies, opts.warmup)
            if warm.errors:
                raise RuntimeError(f"warm-up failed: {warm.errors[:3]}")
            result["loadavg_before"] = os.getloadavg()
            seq = run_sequential(srv.base_url, bodies, opts.requests, offset=opts.warmup)
            result["sequential"] = seq.report()
            print(f"[{size}] sequential: {result['sequential']['latency']}", flush=True)
            result["concurrent"] = {}
            for c in opts.concurrency:
                conc = run_concurrent(srv.base_url, bodies, opts.concurrent_requests, c)
                result["concurrent"][str(c)] = conc.report()
                r = result["concurrent"][str(c)]
                print(f"[{size}] {c} clients: {r['throughput_rps']} req/s, {r['latency']}", flush=True)
            result["loadavg_after"] = os.getloadavg()
            result["memory_end"] = proc_memory(pid)
            # every answer above went to the interaction log (written in the background)
            result["interaction_log"] = httpx.get(f"{srv.base_url}/readyz", timeout=5.0, headers={
                "authorization": f"Bearer {ADMIN_TOKEN}"}).json().get("log_counts")
            print(f"[{size}] interaction log: {result['interaction_log']}", flush=True)

        # The interaction log's cost: the same sequential run on a server with the log off.
        with running_server(kb, index_dir, work / "server-nolog.log", opts.startup_timeout_s,
                            {"ASSIST_LOG_INTERACTIONS": "false"}) as srv:
            run_sequential(srv.base_url, bodies, opts.warmup)
            result["sequential_without_log"] = run_sequential(srv.base_url, bodies, opts.requests,
                                                              offset=opts.warmup).report()["latency"]
        print(f"[{size}] sequential without the interaction log: {result['sequential_without_log']}", flush=True)

        if opts.saved_index:
            build_s, build_out = _timed([sys.executable, "-m", "assist", "index", "build", "--knowledge", str(kb)],
                                        {**env, "ASSIST_PATHS__INDEX_DIR": str(index_dir)})
            with running_server(kb, index_dir, work / "server-saved.log", opts.startup_timeout_s) as srv:
                check = run_sequential(srv.base_url, bodies, min(200, opts.requests))
                result["saved_index"] = {
                    "index_build_s": round(build_s, 2), "index_build": build_out,
                    "startup_s": round(srv.startup_s, 2), "memory_ready": proc_memory(srv.proc.pid),
                    "check_latency": check.report()["latency"], "check_errors": len(check.errors),
                }
            print(f"[{size}] saved index: build {build_s:.1f}s, start-up {result['saved_index']['startup_s']}s", flush=True)
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    return result


# --- report -----------------------------------------------------------------------------------

def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), "")
    except FileNotFoundError:
        pass
    mem_total = ""
    try:
        mem_total = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/meminfo").read_text().splitlines()
                         if ln.startswith("MemTotal"))
    except (FileNotFoundError, StopIteration):
        pass
    libs: dict[str, str | None] = {}
    for name in ("xiaoer-assist", "torch", "sentence-transformers", "faiss-cpu", "bm25s", "jieba", "scikit-learn",
                 "fastapi", "uvicorn", "pydantic", "httpx", "numpy"):
        try:
            libs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libs[name] = None
    return {"nproc": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)), "cpu_model": cpu,
            "mem_total": mem_total, "python": platform.python_version(), "platform": platform.platform(),
            "loadavg_at_start": os.getloadavg(), "libraries": libs}


def _fmt(v: Any, nd: int = 1) -> str:
    return "-" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def table(results: list[dict[str, Any]], concurrency: Sequence[int]) -> str:
    rows = [["entries", "start-up s", "RSS MiB", "seq p50", "p90", "p99", "mean"]
            + [f"{c} clients rps / p50 / p99" for c in concurrency]
            + ["parse", "classify", "retrieve", "rank", "outside"]]
    for r in results:
        seq = r["sequential"]["latency"]
        st = r["sequential"]["stages"]
        row = [str(r["entries"]), _fmt(r["startup_s"]), _fmt(r["memory_end"].get("rss_mib")),
               _fmt(seq["p50_ms"], 2), _fmt(seq["p90_ms"], 2), _fmt(seq["p99_ms"], 2), _fmt(seq["mean_ms"], 2)]
        for c in concurrency:
            cr = r["concurrent"][str(c)]
            row.append(f"{_fmt(cr['throughput_rps'])} / {_fmt(cr['latency']['p50_ms'])} / {_fmt(cr['latency']['p99_ms'])}")
        row += [_fmt(st[s]["p50_ms"], 2) for s in (*STAGES, "outside_stages")]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def verdict(results: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in results:
        seq = r["sequential"]["latency"]
        classify = r["sequential"]["stages"]["classify"]["p50_ms"]
        checks = [("p50", seq["p50_ms"], TARGETS["p50_ms"]), ("p99", seq["p99_ms"], TARGETS["p99_ms"]),
                  ("classify p50", classify, TARGETS["classify_p50_ms"])]
        out.append(f"{r['entries']} entries: " + ", ".join(
            f"{name} {v:.2f} ms {'≤' if v <= t else '>'} {t:g} ({'ok' if v <= t else 'MISSED'})" for name, v, t in checks))
        if "sequential_without_log" in r:
            off = r["sequential_without_log"]
            out.append(f"  interaction log: p50 {seq['p50_ms']:.2f} ms with it, {off['p50_ms']:.2f} ms without "
                       f"({seq['p50_ms'] - off['p50_ms']:+.2f} ms; target ≤ +1 ms)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="total KB entries per run")
    parser.add_argument("--requests", type=int, default=1000, help="sequential requests per size")
    parser.add_argument("--warmup", type=int, default=200, help="requests before measuring (not counted)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 16], help="concurrent clients")
    parser.add_argument("--concurrent-requests", type=int, default=2000, help="requests per concurrency level")
    parser.add_argument("--seed", type=int, default=7, help="seed for the KB and the request bodies")
    parser.add_argument("--source", type=Path, default=synth_kb.DEFAULT_SOURCE, help="demo knowledge to extend")
    parser.add_argument("--startup-timeout", type=float, default=900.0, help="seconds to wait for /readyz")
    parser.add_argument("--no-saved-index", action="store_true", help="skip the start-up-from-saved-index run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary KB, index and server logs")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help="JSON report to write")
    args = parser.parse_args(argv)
    if min(args.requests, args.warmup + 1, args.concurrent_requests, *args.concurrency, *args.sizes) < 1:
        parser.error("counts must be positive")
    # SIGTERM runs the same clean-up as Ctrl-C (finally blocks stop the server).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    opts = Options(requests=args.requests, warmup=args.warmup, concurrency=tuple(args.concurrency),
                   concurrent_requests=args.concurrent_requests, seed=args.seed, source=args.source,
                   startup_timeout_s=args.startup_timeout, saved_index=not args.no_saved_index, keep=args.keep)
    command = "python benchmarks/latency.py " + " ".join(argv if argv is not None else sys.argv[1:])
    report: dict[str, Any] = {
        "command": command.strip(), "started_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_info(), "targets": TARGETS,
        "settings": {"requests": args.requests, "warmup": args.warmup, "concurrency": args.concurrency,
                     "concurrent_requests": args.concurrent_requests, "seed": args.seed, "bodies": 0},
        "results": [],
    }
    bodies = build_bodies(args.seed, args.source)
    report["settings"]["bodies"] = len(bodies)
    report["settings"]["bodies_with_history"] = sum(1 for b in bodies if b["history"])
    report["settings"]["message_chars_p50_max"] = [percentile([len(b["message"]) for b in bodies], 50),
                                                   max(len(b["message"]) for b in bodies)]
    failed: list[dict[str, Any]] = []
    for size in args.sizes:
        try:
            report["results"].append(bench_size(size, bodies, opts))
        except (RuntimeError, TimeoutError, httpx.HTTPError) as e:
            # Keep going: one size failing (e.g. out of memory) should not hide the others.
            print(f"[{size}] FAILED: {e}", file=sys.stderr, flush=True)
            failed.append({"entries": size, "error": str(e)[-4000:]})
    report["failed"] = failed
    report["finished_at"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")

    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if not report["results"]:
        return 1
    m = report["machine"]
    print(f"\n{command.strip()}\n{m['nproc']} CPUs ({m['cpu_model']}), Python {m['python']}, "
          f"load average at start {m['loadavg_at_start'][0]:.2f}; latencies in ms, client-side over 127.0.0.1; "
          "stage columns: server timings_ms p50\n")
    print(table(report["results"], args.concurrency))
    print()
    print("\n".join(verdict(report["results"])))
    print(f"\nreport: {args.report}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

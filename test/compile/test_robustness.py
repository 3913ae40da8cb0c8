"""A callable users can rely on: compiled operators called from several
Python threads (also while one thread compiles, with autograd, while the
thread count changes), copied and pickled (`CompiledOperator`,
`taylor_mlir.func`), and the torch-mlir import process under interrupts,
crashes and the death of its parent."""

import copy
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import taylor_mlir as tm
from taylor_mlir import compile_cache
from taylor_mlir import func as tf
from taylor_mlir import threads as tm_threads
from taylor_mlir import torch_import

sys.path.insert(0, str(Path(__file__).parent))
import reference as ref
from reference import relative_error
from test_compile import inputs, mlp

#: Read by `_energy` (a module-level function: picklable by name).
_FUNC_MODEL = mlp(3, hidden=6, seed=3)


def _energy(x):
    return _FUNC_MODEL(x).sum()


@pytest.fixture(scope="module")
def model():
    return mlp(3, hidden=8)


@pytest.fixture(scope="module")
def lap(model):
    return tm.compile(model, op="laplacian", example_inputs=inputs(16, 3))


@pytest.fixture(scope="module")
def bih(model):
    return tm.compile(model, op="biharmonic", example_inputs=inputs(16, 3))


@pytest.fixture
def two_threads():
    before = tm.get_num_threads()
    tm.set_num_threads(2)
    yield
    tm.set_num_threads(before)


def _run_threads(work, count, timeout=120):
    """Runs ``work(i)`` on ``count`` threads; returns the errors raised."""
    errors = []

    def run(i):
        try:
            work(i)
        except BaseException as error:  # reported by the caller
            errors.append(error)

    started = [
        threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)
    ]
    for t in started:
        t.start()
    for t in started:
        t.join(timeout)
    assert not any(t.is_alive() for t in started), "threads still running: deadlock?"
    return errors


# -- several Python threads ---------------------------------------------------


def test_concurrent_calls_of_several_operators(lap, bih, two_threads):
    """4 threads, each on its own data, call two operators (two parts each,
    on the shared pool) in turns: every result is the one-thread result."""
    data = [inputs(16, 3, seed=10 + i) for i in range(4)]
    want = [(lap(x), bih(x)) for x in data]

    def work(i):
        for _ in range(25):
            got_lap, got_bih = lap(data[i]), bih(data[i])
            assert torch.equal(got_lap, want[i][0])
            assert torch.equal(got_bih, want[i][1])

    assert not _run_threads(work, 4)


def test_concurrent_backward(lap, model, two_threads):
    """Threads differentiating the operator (the compiled vjp programs, on
    the shared pool) get the one-thread gradients."""
    params = list(model.parameters())[:-1]  # (Δu does not depend on the last bias)
    data = [inputs(16, 3, seed=20 + i).requires_grad_(True) for i in range(3)]

    def gradients(x):
        return torch.autograd.grad((lap(x) ** 2).sum(), [x, *params])

    want = [gradients(x) for x in data]
    x0 = data[0].detach().requires_grad_(True)
    reference = torch.autograd.grad(
        (ref.laplacian(model, x0)[:, 0] ** 2).sum(), [x0, *params]
    )
    assert max(relative_error(g, r) for g, r in zip(want[0], reference)) <= 1e-9

    def work(i):
        for _ in range(8):
            got = gradients(data[i])
            assert all(torch.equal(g, w) for g, w in zip(got, want[i]))

    assert not _run_threads(work, 3)


def test_calls_while_another_thread_compiles_see_the_real_weights(model, two_threads):
    """Compiling (here: a first call with a new batch size) exports the model,
    which swaps fake tensors into it meanwhile; calls on other threads,
    plain and differentiated, must still read its real parameters."""
    lap = tm.compile(model, op="laplacian", example_inputs=inputs(16, 3))
    params = list(model.parameters())
    x = inputs(16, 3, seed=5)
    want = lap(x)
    xg = x.clone().requires_grad_(True)
    want_grads = torch.autograd.grad(lap(xg).sum(), [xg, *params])
    stop = threading.Event()
    calls = [0, 0]

    def work(i):
        while not stop.is_set():
            if i == 0:
                assert torch.equal(lap(x), want)
            else:
                got = torch.autograd.grad(lap(xg).sum(), [xg, *params])
                assert all(torch.equal(g, w) for g, w in zip(got, want_grads))
            calls[i] += 1

    callers = threading.Thread(target=lambda: errors.extend(_run_threads(work, 2)))
    errors = []
    callers.start()
    try:
        before = list(calls)
        for batch in (5, 7):  # not compiled yet: export, import, JIT
            y = inputs(batch, 3, seed=batch)
            assert relative_error(lap(y), ref.laplacian(model, y)[:, 0]) <= 1e-9
        during = [c - b for c, b in zip(calls, before)]
    finally:
        stop.set()
        callers.join(120)
    assert not errors, errors[:3]
    assert all(during), f"the calls did not overlap the compiles: {during}"


def test_concurrent_compiles_and_func_transforms_of_one_model(two_threads, monkeypatch):
    """Compiles and taylor_mlir.func transforms of the same modules on several
    threads, with calls in between: every result right. Nothing is cached,
    so the exports, re-traces and saves for the import all overlap (two
    ``torch.export.save`` at once failed on torch's process-wide pickler)."""
    monkeypatch.setattr(compile_cache, "DISK_CACHE", False)
    monkeypatch.setattr(tf, "_CACHE", {})
    tm.clear_compile_cache(disk=False)
    x = inputs(8, 3, seed=2)
    results, want = {}, {}
    want["lap"] = ref.laplacian(_FUNC_MODEL, x)[:, 0]
    xs = [inputs(4 + i, 3, seed=40 + i) for i in range(2)]

    def work(i):
        if i < 2:
            op = ["laplacian", "biharmonic"][i]
            compiled = tm.compile(_FUNC_MODEL, op=op, example_inputs=x)
            results[op] = compiled(x)
        else:
            results[f"grad{i}"] = tf.grad(_energy)(xs[i - 2])

    assert not _run_threads(work, 4)
    assert relative_error(results["laplacian"], want["lap"]) <= 1e-9
    assert relative_error(results["biharmonic"], ref.biharmonic(_FUNC_MODEL, x)) <= 1e-8
    for i in (2, 3):
        xi = xs[i - 2].clone().requires_grad_(True)
        (expected,) = torch.autograd.grad(_energy(xi), xi)
        assert relative_error(results[f"grad{i}"], expected) <= 1e-12


def test_thread_count_changed_during_calls(lap, two_threads):
    """`set_num_threads` on one thread while others call: no call fails (the
    old pool is not shut down under a call that is submitting to it)."""
    pool = tm_threads.pool()  # as a call on another thread holds it...
    tm.set_num_threads(3)
    assert pool.submit(lambda: 1).result() == 1  # ...it stays usable
    x = inputs(32, 3, seed=6)
    want = lap(x)
    stop = threading.Event()

    def call(i):
        while not stop.is_set():
            assert relative_error(lap(x), want) <= 1e-13

    callers = threading.Thread(target=lambda: errors.extend(_run_threads(call, 2)))
    errors = []
    callers.start()
    try:
        for k in range(300):
            tm.set_num_threads(1 + k % 3)
    finally:
        stop.set()
        callers.join(120)
    assert not errors, errors[:3]


def test_operator_called_on_the_pool_runs_inline(model, two_threads):
    """An operator called inside another's per-part loss function (on a pool
    thread) computes its parts on that thread instead of waiting for pool
    threads that are all busy waiting too (a deadlock)."""
    lap = tm.compile(model, op="laplacian", example_inputs=inputs(32, 3))
    bih = tm.compile(model, op="biharmonic", example_inputs=inputs(16, 3))
    assert tm_threads.split(32) == [(0, 16), (16, 32)]  # lap.loss: 2 parts
    assert tm_threads.split(16) == [(0, 8), (8, 16)]  # bih inside: 2 more
    x = inputs(32, 3, seed=8)

    def loss_fn(lap_u, xp):
        return (lap_u - bih(xp)) ** 2

    got = []
    errors = _run_threads(lambda i: got.append(lap.loss(x, loss_fn)), 1, timeout=120)
    assert not errors, errors
    want = ((lap(x) - bih(x)) ** 2).mean()
    assert relative_error(got[0], want) <= 1e-12


# -- copies and pickles --------------------------------------------------------


def test_deepcopy_shares_the_compiled_code_and_copies_the_model(model, lap):
    x = inputs(16, 3, seed=9)
    model_copy, lap_copy = copy.deepcopy((model, lap))
    assert lap_copy._module is model_copy and model_copy is not model
    assert lap_copy.artifact is lap.artifact
    assert lap_copy.ir is lap.ir
    assert torch.equal(lap_copy(x), lap(x))
    with torch.no_grad():
        model_copy[0].weight.mul_(2)
    assert relative_error(lap_copy(x), ref.laplacian(model_copy, x)[:, 0]) <= 1e-9
    assert relative_error(lap(x), ref.laplacian(model, x)[:, 0]) <= 1e-9
    shallow = copy.copy(lap)
    assert shallow._module is model and shallow.artifact is lap.artifact
    assert torch.equal(shallow(x), lap(x))


def test_pickle_compiles_again_from_the_model_and_options(model):
    x = inputs(6, 3, seed=11)
    est = tm.compile(
        model,
        op="stochastic_laplacian",
        example_inputs=x,
        samples=3,
        seed=4,
        outputs=("value", "operator"),
    )
    model2, est2 = pickle.loads(pickle.dumps((model, est)))
    assert est2._module is model2 and model2 is not model
    assert est2.outputs == est.outputs and est2.options == est.options
    assert est2.batch == 6 and est2.dtype == est.dtype
    for got, want in zip(est2(x), est(x)):
        assert relative_error(got, want) <= 1e-13
    with torch.no_grad():  # the restored operator reads the restored model
        model2[0].bias.add_(0.5)
    assert relative_error(est2(x)[0], model2(x)[:, 0]) <= 1e-12
    # Alone, it brings its own copy of the model.
    alone = pickle.loads(pickle.dumps(est))
    assert torch.equal(alone(x)[1], est(x)[1])


def test_pickle_of_an_operator_of_a_lambda_says_why_it_cannot(model):
    op = tm.compile(lambda x: model(x), example_inputs=inputs(4, 3), check=False)
    with pytest.raises(
        TypeError,
        match=r"cannot pickle this CompiledOperator.*"
        r"lambda.*compile a torch.nn.Module",
    ):
        pickle.dumps(op)
    clone = copy.deepcopy(op)  # a deep copy needs no pickling
    x = inputs(4, 3, seed=12)
    assert torch.equal(clone(x), op(x))


def test_func_transforms_pickle_and_copy():
    x = inputs(5, 3, seed=13)
    g = tf.grad(_energy)
    want = g(x)
    for clone in (pickle.loads(pickle.dumps(g)), copy.deepcopy(g), copy.copy(g)):
        assert torch.equal(clone(x), want)
    both = tf.grad(lambda a, b: (a * b).sum(), argnums=(0, 1))
    assert len(copy.deepcopy(both)(x, x)) == 2
    with pytest.raises(
        TypeError,
        match=r"cannot pickle a transformed function.*"
        r"lambda.*module-level function",
    ):
        pickle.dumps(both)
    h = tf.hessian(_energy)
    assert torch.equal(pickle.loads(pickle.dumps(h))(x[0]), h(x[0]))


# -- the torch-mlir import process ------------------------------------------


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has exited (a zombie counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.1)
    return _gone(pid)


def _small(hidden):
    return mlp(3, hidden=hidden, seed=hidden)


def test_a_crash_during_an_import_is_named_and_the_next_import_works(monkeypatch):
    x = inputs(4, 3)
    # The model's graph may be in the memory cache from an earlier test: the
    # compile below must import.
    tm.clear_compile_cache(disk=False)
    torch_import.import_torch_module(_small(5), [x])  # a running process
    real_select = torch_import.select.select
    crashed = []

    def crash_then_select(*args):
        if not crashed:  # the request is written: the import is in flight
            crashed.append(torch_import._SERVER.pid)
            os.kill(crashed[0], signal.SIGSEGV)
        return real_select(*args)

    monkeypatch.setattr(torch_import.select, "select", crash_then_select)
    with pytest.raises(torch_import.TorchImportError) as caught:
        tm.compile(_small(9), example_inputs=x)
    message = str(caught.value)
    assert (
        f"import process (pid {crashed[0]}) crashed (SIGSEGV) while importing"
        in message
    )
    assert "next import starts a new process" in message
    assert "Traceback" not in message and "JSON" not in message
    assert _wait_gone(crashed[0], 5)
    lap = tm.compile(_small(9), example_inputs=x)
    assert torch_import._SERVER.pid != crashed[0]
    assert relative_error(lap(x), ref.laplacian(_small(9), x)[:, 0]) <= 1e-9


def test_a_process_killed_between_imports_is_replaced(monkeypatch):
    x = inputs(4, 3)
    torch_import.import_torch_module(_small(5), [x])
    server = torch_import._SERVER
    os.kill(server.pid, signal.SIGKILL)
    assert _wait_gone(server.pid, 5)
    # Seen alive once more (killed just after the check): the request then
    # meets a closed pipe, and goes to a new process.
    lies = [True, True]
    real_alive = torch_import._ImportServer.alive
    monkeypatch.setattr(
        torch_import._ImportServer,
        "alive",
        lambda self: lies.pop() if lies and self is server else real_alive(self),
    )
    text = torch_import.import_torch_module(_small(6), [x])
    assert "6xf64" in text and not lies
    assert torch_import._SERVER is not server and torch_import._SERVER.alive()


_INTERRUPTED_SCRIPT = """
import os, sys, time
import torch
import taylor_mlir as tm
from taylor_mlir import torch_import

def model(hidden):
    torch.manual_seed(hidden)
    return torch.nn.Sequential(
        torch.nn.Linear(3, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)
    ).double()

x = torch.randn(4, 3, dtype=torch.float64)
exchange = torch_import._ImportServer._exchange

def announced(self, *args):
    print("IN_FLIGHT", self.pid, flush=True)
    return exchange(self, *args)

torch_import._ImportServer._exchange = announced
try:
    tm.compile(model(5), example_inputs=x)
    print("NOT_INTERRUPTED", flush=True)
except KeyboardInterrupt:
    print("INTERRUPTED", flush=True)
tm.compile(model(6), example_inputs=x)
print("COMPILED", torch_import._SERVER.pid, flush=True)
try:
    print("IDLE", flush=True)
    time.sleep(120)
except KeyboardInterrupt:
    print("IDLE_INTERRUPTED", flush=True)
lap = tm.compile(model(7), example_inputs=x)
print("COMPILED", torch_import._SERVER.pid, flush=True)
child = os.fork()  # holds the import process's stdin open
if child == 0:
    time.sleep(60)
    os._exit(0)
print("FORKED", child, flush=True)
time.sleep(120)
"""


def test_ctrl_c_and_a_killed_parent_leave_no_import_process(tmp_path):
    """In a child Python: a Ctrl-C (SIGINT to the process group) during an
    import stops its import process, and the next compile works; a Ctrl-C
    between compiles leaves the import process alone (its own process
    group); when the Python is killed (SIGKILL) while a process it forked
    keeps the pipe open, the import process exits all the same."""
    script = tmp_path / "interrupted.py"
    script.write_text(textwrap.dedent(_INTERRUPTED_SCRIPT))
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as at a terminal
    )
    seen, workers, forked = [], [], []

    def expect(word):
        while True:
            line = process.stdout.readline()
            assert (
                line
            ), f"expected {word}, got {seen}; stderr:\n{process.stderr.read()}"
            seen.append(line.strip())
            fields = line.split()
            if fields[0] == "IN_FLIGHT":
                workers.append(int(fields[1]))
            if fields[0] == word:
                return fields[1:]

    try:
        expect("IN_FLIGHT")
        time.sleep(0.5)
        os.killpg(process.pid, signal.SIGINT)
        expect("INTERRUPTED")
        assert _wait_gone(workers[0], 5), "the interrupted import process survived"
        (second,) = map(int, expect("COMPILED"))
        expect("IDLE")
        time.sleep(0.5)
        os.killpg(process.pid, signal.SIGINT)
        expect("IDLE_INTERRUPTED")
        (third,) = map(int, expect("COMPILED"))
        assert third == second, "a Ctrl-C between compiles stopped the import process"
        forked = [int(p) for p in expect("FORKED")]
        process.kill()
        process.wait(10)
        assert _wait_gone(second, 10), "the import process outlived its parent"
    finally:
        for pid in [process.pid, *forked]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(10)
        for pid in workers:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
    assert "NOT_INTERRUPTED" not in seen
    assert all(_gone(pid) for pid in workers)

"""The GPU path of `taylor_mlir.compile` (``device="cuda"``), checked where
no GPU is: every PTX it emits is assembled by ``ptxas`` for sm_80 and sm_90,
and the GPU-mapped program (the same tiling and thread mapping, its kernels
run as CPU loops: ``emulate=True``) is checked against torch.func in
float64, forward and gradients. The tests that need a GPU skip without one,
saying so."""

import re
import subprocess

import pytest

torch = pytest.importorskip("torch")
import taylor_mlir as tm  # noqa: E402
from taylor_mlir import _cuda, _pipelines, ir, tools  # noqa: E402
from taylor_mlir.cuda import DEFAULT_CHIPS, CudaModule  # noqa: E402

import reference as ref  # noqa: E402
from reference import relative_error  # noqa: E402
from test_compile import SIGMA, inputs, mlp  # noqa: E402

HAS_GPU = torch.cuda.is_available()
needs_gpu = pytest.mark.skipif(
    not HAS_GPU, reason="needs an NVIDIA GPU, its driver and a CUDA build of torch"
)


def gradients(loss, tensors):
    """``d loss / d tensors``, zeros for tensors it does not depend on (the
    last bias: a Laplacian does not see it)."""
    grads = torch.autograd.grad(loss, tensors, allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for t, g in zip(tensors, grads)]


def assemble(ptx: str, chip: str, tmp_path) -> None:
    """Assembles ``ptx`` for ``chip`` with ptxas (the pinned
    nvidia-cuda-nvcc wheel's); fails with ptxas's message."""
    ptxas = tools.ptxas()
    assert ptxas, "ptxas not found: install requirements.txt (nvidia-cuda-nvcc)"
    source = tmp_path / f"kernels_{chip}.ptx"
    source.write_text(ptx)
    done = subprocess.run(
        [ptxas, f"-arch={chip}", str(source), "-o", str(tmp_path / f"{chip}.cubin")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"ptxas -arch={chip} failed:\n{done.stderr}"
    assert (tmp_path / f"{chip}.cubin").stat().st_size > 0


def assemble_all(module: CudaModule, tmp_path) -> None:
    assert set(module.ptx) == set(DEFAULT_CHIPS)
    for chip, ptx in module.ptx.items():
        assert f".target {chip}" in ptx
        assert ".entry" in ptx, "no kernel in the PTX"
        assemble(ptx, chip, tmp_path)


@pytest.fixture(scope="module")
def lap_gpu():
    model = mlp(3)
    op = tm.compile(
        model, "laplacian", example_inputs=inputs(6, 3), device="cuda", emulate=True
    )
    return model, op


def test_ir_has_every_gpu_stage(lap_gpu):
    _, op = lap_gpu
    assert op.device == "cuda"
    for stage in (
        "imported",
        "taylor-jet",
        "lowered",
        "gpu-mapped",
        "ptx-sm_80",
        "ptx-sm_90",
        "emulated-llvm",
        "llvm",
    ):
        assert op.ir[stage], stage
    mapped = op.ir["gpu-mapped"]
    assert "gpu.launch" in mapped
    # No memory access stays on the host: every load and store is in a kernel.
    assert "gpu.launch_func" in op.ir["llvm"]
    assert "gpu.binary" in op.ir["llvm"]
    assert "taylor-cuda-map" in str(op.pipeline)


def test_forward_ptx_assembles_for_sm80_and_sm90(lap_gpu, tmp_path):
    _, op = lap_gpu
    assemble_all(op.artifact.cuda, tmp_path)


def test_reverse_mode_ptx_assembles(lap_gpu, tmp_path):
    """The vjp program (training: gradients of the model's tensors) goes
    through the same GPU pipeline."""
    _, op = lap_gpu
    program = op.artifact.programs[0]
    n = len(program.executables.functions[program.function].inputs)
    vjp = program.vjp(list(range(n - 6, n)), [0])  # the six weights and biases
    assemble_all(vjp.executables.cuda, tmp_path)


def test_kernels_become_cubins_with_the_wheels_ptxas(lap_gpu):
    """``taylor-cuda-kernels{format=bin}``: gpu-module-to-binary assembles
    the PTX with the toolkit's ptxas (the pinned wheel's) into one cubin per
    chip."""
    _, op = lap_gpu
    toolkit = tools.cuda_toolkit()
    assert toolkit, "ptxas not found: install requirements.txt (nvidia-cuda-nvcc)"
    with ir.Context():
        module = ir.Module.parse(op.ir["gpu-mapped"])
        step = _pipelines.step(
            "taylor-cuda-kernels",
            chips=list(DEFAULT_CHIPS),
            format="bin",
            toolkit=toolkit,
        )
        _pipelines.run(module, step, stage="cubins")
        text = str(module)
    binaries = re.findall(r'chip = "(sm_\d+)".*?bin = "', text)
    assert binaries == list(DEFAULT_CHIPS)


@pytest.mark.parametrize(
    "op_name, options, reference",
    [
        ("laplacian", {}, lambda m, x: ref.laplacian(m, x)[:, 0]),
        ("biharmonic", {}, lambda m, x: ref.biharmonic(m, x)),
        (
            "weighted_laplacian",
            {"sigma": SIGMA},
            lambda m, x: ref.weighted_laplacian(m, x, SIGMA)[:, 0],
        ),
    ],
)
def test_gpu_mapped_program_matches_torch_func(op_name, options, reference):
    model = mlp(3)
    x = inputs(7, 3, seed=3)
    op = tm.compile(
        model, op_name, example_inputs=x, device="cuda", emulate=True, **options
    )
    got = op(x)
    want = reference(model, x).reshape(got.shape)
    assert relative_error(got, want) <= 1e-10


def test_gpu_mapped_gradients_match_torch_func(lap_gpu):
    """Training through the GPU-mapped forward and reverse programs: the
    gradients of a PINN-style loss with respect to x and every parameter."""
    model, op = lap_gpu
    x = inputs(6, 3, seed=8).requires_grad_(True)
    params = list(model.parameters())
    got = gradients((op(x) ** 2).sum(), [x, *params])
    want = gradients((ref.laplacian(model, x)[:, 0] ** 2).sum(), [x, *params])
    for g, w in zip(got, want):
        assert relative_error(g, w) <= 1e-9


def test_gpu_mapped_fused_loss_matches_torch_func(lap_gpu):
    """``op.loss``: the primal and adjoint halves of the split vjp program on
    the GPU path (upstream elementwise fusion once changed a weight
    gradient here)."""
    model, op = lap_gpu
    x = inputs(6, 3, seed=9)
    f = inputs(6, 1, seed=3)[:, 0]
    params = list(model.parameters())
    loss = op.loss(x, lambda lap, x, f: (lap + f) ** 2, f)
    want_loss = ((ref.laplacian(model, x)[:, 0] + f) ** 2).mean()
    assert relative_error(loss.detach(), want_loss.detach()) <= 1e-12
    got = gradients(loss, params)
    want = gradients(want_loss, params)
    for g, w in zip(got, want):
        assert relative_error(g, w) <= 1e-9


def test_a_larger_batch_maps_onto_several_blocks():
    """More data than one block of threads: the bounds guard of the last
    block and the block index both matter."""
    model = mlp(3, hidden=40)
    x = inputs(300, 3, seed=4)
    op = tm.compile(model, "laplacian", example_inputs=x, device="cuda", emulate=True)
    assert relative_error(op(x), ref.laplacian(model, x)[:, 0]) <= 1e-10


def test_dynamic_batch_launches_are_sized_at_run_time():
    """One artifact for every batch size: the grids are computed from the
    batch at run time (and a launch of zero blocks is guarded)."""
    model = mlp(3)
    op = tm.compile(
        model,
        "biharmonic",
        example_inputs=inputs(5, 3),
        device="cuda",
        emulate=True,
        dynamic_batch=True,
    )
    for batch in (1, 9, 260):
        x = inputs(batch, 3, seed=batch)
        assert relative_error(op(x), ref.biharmonic(model, x)) <= 1e-10


def test_calling_gpu_code_without_a_gpu_says_so(lap_gpu):
    if HAS_GPU:
        pytest.skip("a GPU is present")
    model, _ = lap_gpu
    op = tm.compile(model, "laplacian", example_inputs=inputs(6, 3), device="cuda")
    assert op.ir["ptx-sm_90"]  # compiled all the same
    with pytest.raises(_cuda.CudaUnavailableError, match="libcuda"):
        op(inputs(6, 3))


def test_bad_devices_are_refused():
    model = mlp(3)
    x = inputs(4, 3)
    with pytest.raises(ValueError, match="device: expected 'cpu' or 'cuda'"):
        tm.compile(model, "laplacian", example_inputs=x, device="tpu")
    with pytest.raises(ValueError, match="device: expected 'cpu' or 'cuda'"):
        tm.compile(model, "laplacian", example_inputs=x, device="meta")
    with pytest.raises(ValueError, match="emulate=True runs GPU code"):
        tm.compile(model, "laplacian", example_inputs=x, emulate=True)


def test_model_tensors_on_another_device_than_x_are_refused():
    model = mlp(3)
    x = inputs(4, 3)
    op = tm.compile(model, "laplacian", example_inputs=x)
    model[0].weight = torch.nn.Parameter(model[0].weight.detach().to("meta"))
    with pytest.raises(
        ValueError, match=r"'0.weight' is on meta, the input x is on cpu"
    ):
        op(x)


def test_emulated_operator_refuses_cuda_like_inputs(lap_gpu):
    _, op = lap_gpu
    with pytest.raises(ValueError, match="emulate=True"):
        op(inputs(6, 3).to("meta"))


@needs_gpu
def test_on_the_gpu_matches_the_cpu():
    model = mlp(3).cuda()
    x = inputs(64, 3).cuda()
    op = tm.compile(model, "laplacian", example_inputs=x)
    assert op.device == "cuda"
    want = ref.laplacian(model.cpu(), x.cpu())[:, 0]
    model.cuda()
    got = op(x)
    assert got.device == x.device
    assert relative_error(got.cpu(), want) <= 1e-10


@needs_gpu
def test_on_the_gpu_gradients_match_torch_func():
    model = mlp(3).cuda()
    x = inputs(32, 3).cuda().requires_grad_(True)
    op = tm.compile(model, "laplacian", example_inputs=x.detach())
    params = list(model.parameters())
    got = gradients(op(x).sum(), [x, *params])
    want = gradients(ref.laplacian(model, x)[:, 0].sum(), [x, *params])
    for g, w in zip(got, want):
        assert relative_error(g, w) <= 1e-9

"""Attention (``F.scaled_dot_product_attention``, ``nn.MultiheadAttention``)
as score models and Psiformer-style wave functions use it: its safe softmax
reduces a mask over each row (``all``) and reads it twice, which
``taylor-fuse-sub-byte-tensors`` stores as bytes."""

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

import taylor_mlir as tm

import reference


def laplacian(model, x):
    # PyTorch's fused CPU kernel has no forward-mode rule: the reference
    # runs the math kernel.
    with sdpa_kernel(SDPBackend.MATH):
        return reference.laplacian(model, x)


def biharmonic(model, x):
    with sdpa_kernel(SDPBackend.MATH):
        return reference.biharmonic(model, x)


class Attention(torch.nn.Module):
    """Tokens of 2 features each from x [B, 6], one attention layer."""

    def __init__(self, causal=False, heads=1):
        super().__init__()
        self.causal, self.heads = causal, heads
        self.q = torch.nn.Linear(2, 8)
        self.k = torch.nn.Linear(2, 8)
        self.v = torch.nn.Linear(2, 8)
        self.out = torch.nn.Linear(8, 1)

    def split(self, t):
        b, n, _ = t.shape
        return t.reshape(b, n, self.heads, -1).transpose(1, 2)

    def forward(self, x):
        t = x.reshape(x.shape[0], 3, 2)
        q, k, v = (self.split(f(t)) for f in (self.q, self.k, self.v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        a = a.transpose(1, 2).reshape(x.shape[0], 3, -1)
        return torch.tanh(self.out(a)).sum((-1, -2))


def inputs():
    return torch.randn(5, 6, generator=torch.Generator().manual_seed(0)).double()


@pytest.mark.parametrize("causal, heads", [(False, 1), (True, 2)])
def test_attention_operators_match_torch_func(causal, heads):
    torch.manual_seed(0)
    model = Attention(causal, heads).double()
    x = inputs()
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    torch.testing.assert_close(
        lap(x), laplacian(model, x)[:, 0], rtol=1e-11, atol=1e-12
    )
    bih = tm.compile(model, op="biharmonic", example_inputs=x)
    torch.testing.assert_close(
        bih(x), biharmonic(model, x)[:, 0], rtol=1e-10, atol=1e-10
    )


def test_attention_gradient_matches_torch_func():
    torch.manual_seed(0)
    model = Attention().double()
    x = inputs()
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    lap(x).pow(2).sum().backward()
    got = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    laplacian(model, x)[:, 0].pow(2).sum().backward()
    for g, want in zip(got, (p.grad for p in model.parameters())):
        torch.testing.assert_close(g, want, rtol=1e-10, atol=1e-11)


def test_multihead_attention_module():
    torch.manual_seed(0)

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Linear(2, 8)
            self.attention = torch.nn.MultiheadAttention(8, 2, batch_first=True)
            self.out = torch.nn.Linear(8, 1)

        def forward(self, x):
            t = self.embed(x.reshape(x.shape[0], 3, 2))
            a, _ = self.attention(t, t, t, need_weights=False)
            return self.out(torch.tanh(a)).sum((-1, -2))

    model = Block().double().eval()
    x = inputs()
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    torch.testing.assert_close(
        lap(x), laplacian(model, x)[:, 0], rtol=1e-11, atol=1e-12
    )

"""Every Python example of the user guide (docs/guide/*.md) runs and its
assertions hold."""

import re
from pathlib import Path

import pytest

pytest.importorskip("torch")

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide"
PAGES = sorted(GUIDE.glob("*.md"))
#: Pages about something other than one operator.
TOPIC_PAGES = ("README", "training", "func", "taylorseer")
OPERATOR_PAGES = [p for p in PAGES if p.stem not in TOPIC_PAGES]
EXAMPLE_PAGES = [p for p in PAGES if p.stem != "README"]


def examples(page):
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)


def test_every_operator_has_a_page_with_an_example():
    from taylor_mlir.compiler import OPERATORS

    assert sorted(p.stem for p in OPERATOR_PAGES) == sorted(OPERATORS)
    for page in OPERATOR_PAGES:
        assert examples(page), f"{page.name} has no python example"


@pytest.mark.parametrize("page", EXAMPLE_PAGES, ids=lambda p: p.stem)
def test_guide_example_runs(page):
    for code in examples(page):
        exec(compile(code, str(page), "exec"), {})

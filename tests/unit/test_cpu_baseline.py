"""The instruction classifier behind the portable-build check (objdump lines)."""

from __future__ import annotations

import pytest

from appliance.artifacts.cpu_baseline import classify, missing_flags

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("    1f20:\ttilezero %tmm0", "amx"),
        ("    1f24:\ttdpbssd %tmm2,%tmm1,%tmm0", "amx"),
        ("    1f28:\tldtilecfg (%rdi)", "amx"),
        ("    1f30:\tvaddps %zmm1,%zmm1,%zmm0", "avx512"),
        ("    1f36:\tvpdpbusd %zmm3,%zmm2,%zmm1", "avx512"),
        ("    1f3c:\tvmovups %ymm17,(%rdi)", "avx512"),  # EVEX-only register
        ("    1f42:\tkmovw %k1,%eax", "avx512"),
        ("    1f46:\tvaddps (%rax){1to16},%zmm0,%zmm0", "avx512"),
        ("    1f50:\tvfmadd231ps %ymm1,%ymm2,%ymm3", None),  # AVX2 + FMA: the baseline
        ("    1f56:\tvcvtph2ps %xmm1,%ymm0", None),  # F16C
        ("    1f5a:\tvpdpbusd %ymm3,%ymm2,%ymm1", None),  # AVX-VNNI form is VEX, ymm0-15
        ("0000000000001f20 <ggml_tile_zero_wrapper>:", None),
        ("    1f60:\tcall   1030 <tilezero_helper@plt>", None),
    ],
)
def test_classify(line: str, kind: str | None) -> None:
    assert classify(line) == kind


def test_missing_flags_in_data_sheet_words() -> None:
    assert missing_flags({"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"}) == []
    assert missing_flags({"sse4_2", "avx", "avx2", "f16c", "bmi2"}) == ["FMA3"]

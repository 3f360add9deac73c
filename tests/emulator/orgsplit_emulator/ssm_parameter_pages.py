"""SSM DescribeParameters pages, which moto 5.2.5 serves 10 at a time whatever `MaxResults` says.

AWS: `MaxResults` "The maximum number of items to return for this call", valid range 1-50
(https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html;
the range is also in botocore's model, which the emulator's validation enforces). Without it a
page holds 10 (the SDKs' users meet it as "only 10 parameters": seek-oss/aec#332, and moto's
own GetParametersByPath default, getmoto/moto#2608). A `NextToken` comes with a page only while
parameters remain; moto 5.2.5 also gave one after a full last page, so a listing of 120 at 10 a
page took 13 calls, the last one empty.

moto keeps its own token (an offset into the listing in name order), so a token from either
answer pages on. The listing is still moto's: its filters, its order, its parameter shape. This
is a correction, not a strict setting: it applies to every client, the seeder included.
"""
from __future__ import annotations

from .patching import install_once

DEFAULT_PAGE = 10


@install_once
def install() -> None:
    from moto.core.responses import ActionResult
    from moto.ssm import responses

    def describe_parameters(self):  # type: ignore[no-untyped-def]
        page = int(self._get_param("MaxResults") or DEFAULT_PAGE)
        token = self._get_param("NextToken")
        start = int(token.strip()) if isinstance(token, str) and token.strip() else 0
        listed = self.ssm_backend.describe_parameters(self._get_param("Filters"), self._get_param("ParameterFilters"))
        answer: dict = {"Parameters": [p.describe_response_object(False) for p in listed[start:start + page]]}
        if start + page < len(listed):
            answer["NextToken"] = str(start + page)
        return ActionResult(answer)

    responses.SimpleSystemManagerResponse.describe_parameters = describe_parameters

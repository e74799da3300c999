"""Issue 10 item 11: validation refuses what the engine cannot run, without recursion."""

from __future__ import annotations

from ivr.core.flows import MAX_STEPS
from tests.conftest import Phone
from tests.flows.conftest import ADMIN, MONITOR, Admin, chain, problems
from tests.twiml_helpers import says


async def test_a_say_chain_longer_than_the_engine_walks_is_refused(admin: Admin) -> None:
    resp = await admin.create(chain("long", 70))
    found = problems(resp)
    assert any(p["where"] == "flow long node s0" and str(MAX_STEPS) in p["message"]
               for p in found), found
    assert (await admin.client.get("/api/flows/long", headers=MONITOR)).status_code == 404


async def test_simulating_a_too_long_draft_is_a_422_not_a_500(admin: Admin) -> None:
    saved = await admin.create(chain("long", 70), publish=False)  # drafts are not checked
    assert saved.status_code == 201, saved.text
    sim = await admin.client.post("/api/flows/long/simulate", json={"revision": 1}, headers=MONITOR)
    assert any(p["where"] == "flow long node s0" for p in problems(sim))
    pub = await admin.client.post("/api/flows/long/publish", json={"revision": 1},
                                  headers={**ADMIN, "If-Match": saved.headers["ETag"]})
    assert any(p["where"] == "flow long node s0" for p in problems(pub))


async def test_a_chain_at_the_limit_is_accepted_and_runs_in_a_real_call(admin: Admin,
                                                                       phone: Phone) -> None:
    ok = await admin.create(chain("edge", MAX_STEPS - 1))  # 63 says and the queue: 64 nodes
    assert ok.status_code == 201, ok.text
    assert (await admin.put_line("12328", flow="edge")).status_code == 200
    root = await phone.twiml("/voice/incoming", CallSid="CAedge", From="+8613800000001", To="12328")
    assert says(root) == [f"第{i}句。" for i in range(MAX_STEPS - 1)]
    assert root[-1].tag == "Redirect"
    assert "/voice/queue" in (root[-1].text or "")
    too_long = await admin.create(chain("edge2", MAX_STEPS))  # one more node
    assert any(p["where"] == "flow edge2 node s0" for p in problems(too_long))


async def test_a_goto_chain_across_flows_is_refused_where_it_gets_too_long(admin: Admin) -> None:
    last = 70
    assert (await admin.create({"id": f"g{last}", "start": "q",
                                "nodes": {"q": {"kind": "queue"}}})).status_code == 201
    refused = None
    for k in range(last - 1, -1, -1):
        resp = await admin.create({"id": f"g{k}", "start": "go",
                                   "nodes": {"go": {"kind": "goto", "flow": f"g{k + 1}"}}})
        if resp.status_code != 201:
            refused = k, problems(resp)
            break
    # g{k} walks (last - k) gotos and the queue: the first over the limit is refused
    assert refused is not None, "a goto chain across 71 flows was published"
    k, found = refused
    assert last - k + 1 == MAX_STEPS + 1
    assert any(p["where"] == f"flow g{k} node go" for p in found), found


async def test_thousands_of_nodes_get_a_422_not_a_recursion_error(admin: Admin) -> None:
    found = problems(await admin.create(chain("huge", 2500)))
    assert any(p["where"] == "flow huge node s0" for p in found), found[:3]
    ring = chain("ring", 2500, {"kind": "say", "text": "再来。", "next": "s0"})
    found = problems(await admin.create(ring))
    assert any("loops without caller input" in p["message"] for p in found), found[:3]

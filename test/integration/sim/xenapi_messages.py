"""Drive the simulator's alert (message) calls with the official XenAPI Python client (python3-os-xenapi):
the calls XenPilot makes for its Alerts view (message.get_all_records, message.destroy) and destroy_many.

argv: url cafile username password. Prints one JSON object with what the client saw.
"""
import json
import sys

from xenapi_common import connect, failure

url, cafile, user, pwd = sys.argv[1:5]
session, api = connect(url, cafile, user, pwd, "xenpilot-sim-messages-test")
out = {}

before = api.message.get_all_records()
out["count"] = len(before)
out["priorities"] = sorted({int(m["priority"]) for m in before.values()})
out["fields"] = sorted(next(iter(before.values())).keys()) if before else []

pool_uuid = api.pool.get_uuid(api.pool.get_all()[0])
made = [api.message.create("XENPILOT_TEST_%d" % i, "3", "Pool", pool_uuid, "body %d" % i) for i in range(4)]
a, b, c, d = made
out["created_in_list"] = all(r in api.message.get_all_records() for r in made)
out["record_name"] = api.message.get_record(a)["name"]

out["destroy"] = failure(api.message.destroy, a)
out["destroy_again"] = failure(api.message.destroy, a)
out["get_record_gone"] = failure(api.message.get_record, a)
out["destroy_many_unknown"] = failure(api.message.destroy_many, [b, a, c])
left = api.message.get_all_records()
out["b_left"] = b in left
out["c_left"] = c in left
out["destroy_many"] = failure(api.message.destroy_many, [c, d])
left = api.message.get_all_records()
out["c_d_left"] = [r for r in (c, d) if r in left]
out["count_after"] = len(left)

session.xenapi.session.logout()
print(json.dumps(out))

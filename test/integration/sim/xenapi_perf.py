"""The performance calls XenPilot makes, driven with the official XenAPI Python client.

argv: url cafile username password running_vm halted_vm; prints one JSON object with what it saw.
"""
import json
import sys
import urllib.request

from xenapi_common import connect, failure, tls_context

url, cafile, user, pwd, running, halted = sys.argv[1:7]
session, api = connect(url, cafile, user, pwd, "xenpilot-perf-test")
ctx = tls_context(cafile)
out = {}

host = api.VM.get_resident_on(running)
hds = api.host.get_data_sources(host)
out["host_sources"] = sorted(d["name_label"] for d in hds)
out["host_min_infinite"] = any(d["min"] == float("-inf") for d in hds)
vds = api.VM.get_data_sources(running)
out["vm_source_keys"] = sorted(vds[0].keys())
out["vm_disabled"] = sorted(d["name_label"] for d in vds if not d["enabled"])
out["record"] = failure(lambda: api.VM.record_data_source(running, "runstate_fullrun"))
out["enabled_after"] = [d["enabled"] for d in api.VM.get_data_sources(running) if d["name_label"] == "runstate_fullrun"]
out["record_unknown"] = failure(lambda: api.VM.record_data_source(running, "no_such_source"))
out["halted"] = failure(lambda: api.VM.get_data_sources(halted))
out["query"] = api.VM.query_data_source(running, "cpu0")

pool = api.pool.get_all()[0]
key = "XenCenter.GraphLayout.0.vm." + api.VM.get_uuid(running)
api.pool.add_to_gui_config(pool, key, "cpu0,memory")
out["gui_config"] = api.pool.get_gui_config(pool).get(key)
out["duplicate"] = failure(lambda: api.pool.add_to_gui_config(pool, key, "x"))
api.pool.remove_from_gui_config(pool, key)
out["removed"] = key not in api.pool.get_gui_config(pool)

sid = session._session
with urllib.request.urlopen(url + "/rrd_updates?start=-60&cf=AVERAGE&interval=5&host=true&session_id=" + sid, context=ctx) as r:
    body = r.read().decode()
    out["rrd_xml"] = body.startswith("<?xml") and "<xport>" in body

session.xenapi.session.logout()
print(json.dumps(out))

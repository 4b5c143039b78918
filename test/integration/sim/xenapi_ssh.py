"""Drive the simulator's SSH management calls (XAPI 25.13 / 25.21) with the official XenAPI Python client.

argv: mode url cafile username password. mode 'current': host.set_ssh_enabled_timeout, disable_ssh,
enable_ssh (also Async), pool.disable_ssh and XAPI's INVALID_VALUE; mode 'legacy': what an old release
answers. Prints one JSON object with what the client saw.
"""
import json
import sys
import time

from xenapi_common import connect, failure, waiter

mode, url, cafile, user, pwd = sys.argv[1:6]
session, api = connect(url, cafile, user, pwd, "xenpilot-sim-ssh-test")
out = {}
host = sorted(api.host.get_all_records().items(), key=lambda kv: kv[1]["name_label"])[0][0]
pool = api.pool.get_all()[0]

if mode == "legacy":
    out["enable"] = failure(api.host.enable_ssh, host)
    out["timeout"] = failure(api.host.set_ssh_enabled_timeout, host, "600")
    out["has_field"] = "ssh_enabled" in api.host.get_record(host)
else:
    wait = waiter(api)
    out["disable"] = failure(api.host.disable_ssh, host)
    out["after_disable"] = api.host.get_record(host)["ssh_enabled"]
    out["timeout"] = failure(api.host.set_ssh_enabled_timeout, host, "600")
    out["timeout_value"] = api.host.get_record(host)["ssh_enabled_timeout"]
    before = time.time()
    out["enable"] = wait(api.Async.host.enable_ssh(host))[0]
    rec = api.host.get_record(host)
    out["after_enable"] = rec["ssh_enabled"]
    expiry = time.mktime(time.strptime(str(rec["ssh_expiry"]), "%Y%m%dT%H:%M:%SZ")) - time.timezone
    out["expiry_in_s"] = round(expiry - before)
    out["too_long"] = failure(api.host.set_ssh_enabled_timeout, host, "172801")
    out["negative"] = failure(api.host.set_ssh_enabled_timeout, host, "-1")
    out["no_timeout"] = failure(api.host.set_ssh_enabled_timeout, host, "0")
    out["expiry_cleared"] = str(api.host.get_record(host)["ssh_expiry"])
    out["bad_ref"] = failure(api.host.enable_ssh, "OpaqueRef:nope")
    out["pool_disable"] = failure(api.pool.disable_ssh, pool)
    out["all_disabled"] = [r["ssh_enabled"] for r in api.host.get_all_records().values()]
    out["pool_enable"] = failure(api.pool.enable_ssh, pool)
    out["all_enabled"] = [r["ssh_enabled"] for r in api.host.get_all_records().values()]
    api.host.set_ssh_enabled_timeout(host, "0")

print(json.dumps(out))
